"""Training checkpoints: save a fit at the end of an epoch and resume it.

A checkpoint holds everything :meth:`Trainer.fit` needs to continue a run as
if it had never stopped: the model's parameters, the optimizer's state
(momentum buffers or Adam's moments, and its step count, on which the
learning-rate schedules depend), the number of completed epochs, the state
of the fit's random generator (shuffling and augmentation) and the history
so far.  Resuming from it with the same data, batch size, optimizer
settings, augmentation and thread count gives bit-for-bit the weights of an
uninterrupted run.

The file is, like a model file, an uncompressed NumPy ``.npz`` archive with
a JSON header and plain arrays (never pickle), written to a temporary file
beside the target and renamed over it only when complete.

Usage::

    ckpt = fastnn.ModelCheckpoint("run.ckpt")            # after every epoch
    trainer.fit(X, y, epochs=20, seed=0, callbacks=[ckpt])
    # ... stopped (Ctrl-C, a crash, a new process) ...
    trainer.fit(X, y, epochs=20, resume_from="run.ckpt")  # epochs: the run's total
"""

from __future__ import annotations

import json
import numbers
import os

import numpy as np

from .model import ModelFileError, Sequential, _from_config, atomic_savez, read_npz
from .trainer import Callback, History

__all__ = ["Checkpoint", "ModelCheckpoint", "load_checkpoint"]

FILE_FORMAT = "fastnn.Checkpoint"
FILE_VERSION = 1
_HEADER = "__checkpoint__"
_MODEL = "model/"
_OPTIM = "optimizer/"
_ORDER = "fit/order"  # the sample order, shuffled in place every epoch
# what must agree between a model and a checkpoint it resumes from (not "init":
# the initial weights are replaced by the checkpoint's)
_LAYER_KEYS = ("type", "in_features", "out_features", "activation", "bias_mode", "slope", "trainable")


class ModelCheckpoint(Callback):
    """Save a checkpoint of the fit (see :mod:`fastnn.checkpoint`) to
    ``path`` at the end of every ``every``-th epoch; resume with
    ``trainer.fit(..., resume_from=path)``.

    ``path`` may contain ``{epoch}`` (the 1-based number of the epoch just
    finished), e.g. ``"run-{epoch:03d}.ckpt"``, to keep one file per epoch;
    otherwise each save replaces the previous file (atomically: a crash
    while saving leaves the previous checkpoint intact).

    Only complete epochs are saved.  When a fit stops part way through an
    epoch (Ctrl-C, or ``stop_training`` set from ``on_batch_end``), that
    partial epoch is not saved, so the checkpoint stays at the last complete
    epoch and a resumed fit repeats the partial epoch from its start.
    """

    def __init__(self, path, every=1):
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"every must be an int >= 1 (epochs), got {every!r}")
        self.path = os.fspath(path)
        self.every = int(every)
        self.last_saved = None  # the path written last

    def on_epoch_end(self, trainer, epoch, logs):
        progress = trainer._progress
        if progress is None or not progress["at_epoch_end"]:
            return  # a partial epoch: keep the last complete one
        if (epoch + 1) % self.every:
            return
        path = self.path.format(epoch=epoch + 1) if "{" in self.path else self.path
        trainer.save_checkpoint(path)
        self.last_saved = path

    def __repr__(self):
        return f"ModelCheckpoint({self.path!r}, every={self.every})"


class Checkpoint:
    """A checkpoint read by :func:`load_checkpoint`.

    Attributes: ``path``; ``epoch`` (complete epochs trained); ``model`` (a
    :class:`Sequential` with the saved parameters); ``history`` (a
    :class:`History` of those epochs); ``optimizer_state`` (for
    ``Optimizer.load_state_dict``); ``optimizer`` (the saved optimizer's
    repr); ``rng_state`` (the fit's ``bit_generator.state``) and ``order``
    (its sample order, which each epoch shuffles further); ``fit`` (the
    number of samples, batch size and epochs of the fit that wrote it).
    """

    def __init__(self, path, epoch, model, history, optimizer_state, optimizer, rng_state, fit, order):
        self.path = path
        self.epoch = epoch
        self.model = model
        self.history = history
        self.optimizer_state = optimizer_state
        self.optimizer = optimizer
        self.rng_state = rng_state
        self.fit = fit
        self.order = order

    def __repr__(self):
        return f"Checkpoint({self.path!r}, epoch={self.epoch}, optimizer={self.optimizer})"

    def make_rng(self):
        """A generator in the saved state."""
        name = self.rng_state["bit_generator"]
        bitgen = getattr(np.random, name)()
        bitgen.state = self.rng_state
        return np.random.Generator(bitgen)

    def check_resumable(self, trainer, n_samples, batch_size):
        """ValueError, naming the file, if ``trainer`` cannot resume from
        this checkpoint with this data: another architecture or dtype,
        another optimizer type, or another number of samples or batch size
        (which would change every step's batch and the schedule)."""
        problem = _model_difference(self.model, trainer.model)
        if problem:
            raise ValueError(f"{self.path}: this checkpoint is of a different model ({problem}); "
                             "resume with the architecture it was saved from")
        opt = trainer.optimizer
        if self.optimizer_state["type"] != type(opt).__name__:
            raise ValueError(f"{self.path}: this checkpoint was saved with the optimizer {self.optimizer}; "
                             f"this trainer's is a {type(opt).__name__}")
        params = dict(trainer.model.parameters())
        for key, value in self.optimizer_state["state"].items():
            arrays = value if isinstance(value, tuple) else (value,)
            if key not in params or any(a.size != params[key].size for a in arrays):
                raise ValueError(f"{self.path}: optimizer state {key!r} does not fit the model's parameters")
        saved_n, saved_bs = self.fit["n_samples"], self.fit["batch_size"]
        if (saved_n, saved_bs) != (n_samples, batch_size):
            raise ValueError(f"{self.path}: this checkpoint is of a fit over {saved_n} training samples in "
                             f"batches of {saved_bs}; this fit has {n_samples} samples in batches of "
                             f"{batch_size}. Resume with the same training data and batch size.")

    def restore(self, trainer):
        """Set the trainer's model parameters and optimizer state (after
        :meth:`check_resumable`)."""
        model, opt = trainer.model, trainer.optimizer
        state = {}
        for key, value in self.optimizer_state["state"].items():
            if isinstance(value, tuple):
                state[key] = tuple(np.array(a, dtype=model.dtype) for a in value)
            else:
                state[key] = np.array(value, dtype=model.dtype)
        model.load_state_dict(self.model.state_dict())
        opt.load_state_dict({**self.optimizer_state, "state": state})


def _model_difference(saved: Sequential, model: Sequential):
    """A short description of how two architectures differ, or None."""
    if saved.dtype != model.dtype:
        return f"dtype {saved.dtype.name}, this model's is {model.dtype.name}"

    def shape(m):
        return "-".join([str(m.n_inputs)] + [str(layer.out_features) for layer in m.layers])

    if len(saved.layers) != len(model.layers) or shape(saved) != shape(model):
        return f"layers {shape(saved)}, this model's are {shape(model)}"
    for i, (a, b) in enumerate(zip(saved.layers, model.layers)):
        ca, cb = a.config(), b.config()
        for key in _LAYER_KEYS:
            if ca.get(key) != cb.get(key):
                return f"layer {i} {key} {ca.get(key)!r}, this model's is {cb.get(key)!r}"
    return None


# ---- writing ------------------------------------------------------------------------

def save_checkpoint(path, trainer):
    """Write ``trainer``'s fit, as it stands at the end of an epoch, to
    ``path`` (what :meth:`Trainer.save_checkpoint` does)."""
    progress = trainer._progress
    if progress is None:
        raise ValueError("nothing to checkpoint: a checkpoint is written during or after Trainer.fit")
    if not progress["at_epoch_end"]:
        raise ValueError("the fit stopped part way through an epoch, so the model is not at an epoch end; "
                         "a checkpoint holds complete epochs (use ModelCheckpoint to keep the last one)")
    path = os.fspath(path)
    model, opt = trainer.model, trainer.optimizer
    ostate = opt.state_dict()
    rng_state = progress["rng"].bit_generator.state
    history = progress["history"]
    header = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "model": model.config(),
        "epoch": progress["epoch"],
        "optimizer": {"type": ostate["type"], "repr": repr(opt), "step_count": ostate["step_count"],
                      "state": {k: (len(v) if isinstance(v, tuple) else None) for k, v in ostate["state"].items()}},
        "rng": rng_state,
        "history": {"epochs": list(history.epochs), "history": history.history},
        "fit": {"n_samples": progress["n_samples"], "batch_size": progress["batch_size"],
                "epochs": progress["epochs"]},
    }
    try:
        text = json.dumps(header, allow_nan=True)
    except TypeError as e:
        raise TypeError(f"cannot write a checkpoint: the fit's state is not JSON-serialisable ({e}); "
                        "fit uses numpy.random.default_rng(seed)") from e
    arrays = {_HEADER: np.frombuffer(text.encode(), dtype=np.uint8), _ORDER: progress["order"]}
    for name, arr in model.parameters():
        arrays[_MODEL + name] = arr
    for key, value in ostate["state"].items():
        if isinstance(value, tuple):
            for j, a in enumerate(value):
                arrays[f"{_OPTIM}{key}/{j}"] = a
        else:
            arrays[_OPTIM + key] = value
    atomic_savez(path, arrays)


# ---- reading ------------------------------------------------------------------------

def load_checkpoint(path):
    """Read a checkpoint written by :class:`ModelCheckpoint` or
    :meth:`Trainer.save_checkpoint`; returns a :class:`Checkpoint`.

    A missing file raises FileNotFoundError; a truncated or damaged file, a
    model file (``Sequential.save``) or anything else raises
    :class:`ModelFileError` (a ValueError) naming the file.  Nothing in the
    file is ever unpickled.
    """
    path = os.fspath(path)

    def bad(reason):
        return ModelFileError(f"{path}: not a valid fastnn training checkpoint ({reason})")

    arrays = read_npz(path, bad)
    raw = arrays.pop(_HEADER, None)
    if raw is None:
        if "__config__" in arrays:
            raise bad("it is a model file written by Sequential.save; checkpoints are written by "
                      "fastnn.ModelCheckpoint or Trainer.save_checkpoint")
        raise bad("no checkpoint header")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad(f"damaged header: {e}") from e
    if not isinstance(header, dict) or header.get("format") != FILE_FORMAT:
        raise bad("missing or foreign format tag")
    if header.get("version") != FILE_VERSION:
        raise bad(f"file version {header.get('version')!r}; this fastnn reads version {FILE_VERSION}")
    try:
        model_arrays = {k[len(_MODEL):]: v for k, v in arrays.items() if k.startswith(_MODEL)}
        model = _from_config(header["model"], model_arrays, f"{path} (checkpoint)")
        params = dict(model.parameters())
        epoch = header["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise bad(f"invalid epoch count {epoch!r}")
        oh = header["optimizer"]
        step_count = oh["step_count"]
        if isinstance(step_count, bool) or not isinstance(step_count, int) or step_count < 0:
            raise bad(f"invalid optimizer step count {step_count!r}")
        state, used = {}, set()
        for key, count in oh["state"].items():
            if key not in params:
                raise bad(f"optimizer state for an unknown parameter {key!r}")
            names = [_OPTIM + key] if count is None else [f"{_OPTIM}{key}/{j}" for j in range(int(count))]
            missing = [n for n in names if n not in arrays]
            if missing:
                raise bad(f"missing arrays {missing}")
            for n in names:
                a = arrays[n]
                if a.dtype.kind != "f" or a.size != params[key].size:
                    raise bad(f"array {n!r} has dtype {a.dtype} and {a.size} elements; expected floats "
                              f"shaped like {key} ({params[key].size} elements)")
                if not np.all(np.isfinite(a)):
                    raise bad(f"array {n!r} contains NaN or infinity")
            used.update(names)
            state[key] = arrays[names[0]] if count is None else tuple(arrays[n] for n in names)
        order = arrays.get(_ORDER)
        n = int(header["fit"]["n_samples"])
        if order is None or order.dtype != np.int64 or order.shape != (n,) \
                or not np.array_equal(np.sort(order), np.arange(n)):
            raise bad(f"the sample order is missing or not a permutation of {n} samples")
        used.add(_ORDER)
        extra = sorted(k for k in arrays if not k.startswith(_MODEL) and k not in used)
        if extra:
            raise bad(f"unexpected arrays {extra}")
        rng_state = header["rng"]
        name = rng_state["bit_generator"]
        if not isinstance(name, str) or not isinstance(getattr(np.random, name, None), type) \
                or not issubclass(getattr(np.random, name), np.random.BitGenerator):
            raise bad(f"unknown bit generator {name!r}")
        getattr(np.random, name)().state = rng_state  # checks it
        history = History()
        for e, *values in zip(header["history"]["epochs"],
                              *header["history"]["history"].values()):
            history.append(int(e), {k: float(v) for k, v in zip(header["history"]["history"], values)})
        fit = {k: int(header["fit"][k]) for k in ("n_samples", "batch_size", "epochs")}
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise bad(f"{type(e).__name__}: {e}") from e
    optimizer_state = {"type": str(oh["type"]), "step_count": step_count, "state": state}
    return Checkpoint(path, epoch, model, history, optimizer_state, str(oh.get("repr", oh["type"])),
                      rng_state, fit, order)
