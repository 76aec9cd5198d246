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

import numbers
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_int
from ..io.model_file import ModelFileError
from ..io.npz import atomic_savez, decode_header, encode_header, read_npz
from ..nn.sequential import Sequential
from ..optim.base import Optimizer
from .callbacks import Callback
from .history import History
from .state import FitState

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["Checkpoint", "ModelCheckpoint", "load_checkpoint", "save_checkpoint"]

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
    """Save a checkpoint of the fit at the end of every ``every``-th epoch.

    Resume with ``trainer.fit(..., resume_from=path)``.  Only complete
    epochs are saved: when a fit stops part way through an epoch (Ctrl-C, or
    ``stop_training`` set from ``on_batch_end``), that partial epoch is not
    saved, so the checkpoint stays at the last complete epoch and a resumed
    fit repeats the partial epoch from its start.

    Parameters
    ----------
    path : str or os.PathLike
        The file.  It may contain ``{epoch}`` (the 1-based number of the
        epoch just finished), e.g. ``"run-{epoch:03d}.ckpt"``, to keep one
        file per epoch; otherwise each save replaces the previous file
        (atomically: a crash while saving leaves the previous checkpoint intact).
    every : int, default 1
        Save every ``every`` epochs.

    Attributes
    ----------
    last_saved : str or None
        The path written last.
    """

    def __init__(self, path: str | os.PathLike[str], every: int = 1) -> None:
        self.path = os.fspath(path)
        self.every = check_int("every", every, minimum=1)
        self.last_saved: str | None = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Save the fit, when it is at the end of an epoch due for saving."""
        state = trainer.fit_state
        if state is None or not state.at_epoch_end:
            return  # a partial epoch: keep the last complete one
        if (epoch + 1) % self.every:
            return
        path = self.path.format(epoch=epoch + 1) if "{" in self.path else self.path
        trainer.save_checkpoint(path)
        self.last_saved = path

    def __repr__(self) -> str:
        return f"ModelCheckpoint({self.path!r}, every={self.every})"


class Checkpoint:
    """A checkpoint read by :func:`load_checkpoint`.

    Parameters
    ----------
    path : str
        The file it was read from.
    epoch : int
        Complete epochs trained.
    model : Sequential
        A model with the saved parameters.
    history : History
        The history of those epochs.
    optimizer_state : dict
        For :meth:`Optimizer.load_state_dict`.
    optimizer : str
        The saved optimizer's repr.
    rng_state : dict
        The fit's ``bit_generator.state``.
    fit : dict
        The number of samples, batch size and epochs of the fit that wrote it.
    order : numpy.ndarray
        The fit's sample order, which each epoch shuffles further.
    """

    def __init__(self, path: str, epoch: int, model: Sequential, history: History, optimizer_state: dict[str, Any],
                 optimizer: str, rng_state: dict[str, Any], fit: dict[str, int], order: np.ndarray) -> None:
        self.path = path
        self.epoch = epoch
        self.model = model
        self.history = history
        self.optimizer_state = optimizer_state
        self.optimizer = optimizer
        self.rng_state = rng_state
        self.fit = fit
        self.order = order

    def __repr__(self) -> str:
        return f"Checkpoint({self.path!r}, epoch={self.epoch}, optimizer={self.optimizer})"

    def make_rng(self) -> np.random.Generator:
        """A generator in the saved state.

        Returns
        -------
        numpy.random.Generator
            A new generator continuing the fit's random stream.
        """
        bitgen = getattr(np.random, self.rng_state["bit_generator"])()
        bitgen.state = self.rng_state
        return np.random.Generator(bitgen)

    def check_resumable(self, model: Sequential, optimizer: Optimizer, n_samples: int, batch_size: int) -> None:
        """Check that this model and optimizer can resume the checkpoint with this data.

        Parameters
        ----------
        model : Sequential
            The model to resume.
        optimizer : Optimizer
            Its optimizer.
        n_samples : int
            Training samples of the fit that resumes.
        batch_size : int
            Its rows per step.

        Raises
        ------
        ValueError
            Another architecture or dtype, another optimizer type, or another
            number of samples or batch size (which would change every step's
            batch and the schedule).
        """
        problem = _model_difference(self.model, model)
        if problem:
            raise ValueError(f"{self.path}: this checkpoint is of a different model ({problem}); "
                             "resume with the architecture it was saved from")
        if self.optimizer_state["type"] != type(optimizer).__name__:
            raise ValueError(f"{self.path}: this checkpoint was saved with the optimizer {self.optimizer}; "
                             f"this trainer's is a {type(optimizer).__name__}")
        params = dict(model.named_parameters())
        for key, value in self.optimizer_state["state"].items():
            arrays = value if isinstance(value, tuple) else (value,)
            if key not in params or any(a.size != params[key].size for a in arrays):
                raise ValueError(f"{self.path}: optimizer state {key!r} does not fit the model's parameters")
        saved_n, saved_bs = self.fit["n_samples"], self.fit["batch_size"]
        if (saved_n, saved_bs) != (n_samples, batch_size):
            raise ValueError(f"{self.path}: this checkpoint is of a fit over {saved_n} training samples in "
                             f"batches of {saved_bs}; this fit has {n_samples} samples in batches of "
                             f"{batch_size}. Resume with the same training data and batch size.")

    def restore(self, model: Sequential, optimizer: Optimizer) -> None:
        """Set the model's parameters and the optimizer's state (after :meth:`check_resumable`).

        Parameters
        ----------
        model : Sequential
            Receives the saved parameters.
        optimizer : Optimizer
            Receives the saved state and step count.
        """
        state: dict[str, Any] = {}
        for key, value in self.optimizer_state["state"].items():
            if isinstance(value, tuple):
                state[key] = tuple(np.array(a, dtype=model.dtype) for a in value)
            else:
                state[key] = np.array(value, dtype=model.dtype)
        model.load_state_dict(self.model.state_dict())
        optimizer.load_state_dict({**self.optimizer_state, "state": state})


def _model_difference(saved: Sequential, model: Sequential) -> str | None:
    """A short description of how two architectures differ, or None."""
    if saved.dtype != model.dtype:
        return f"dtype {saved.dtype.name}, this model's is {model.dtype.name}"

    def shape(m: Sequential) -> str:
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

def save_checkpoint(path: str | os.PathLike[str], model: Sequential, optimizer: Optimizer,
                    state: FitState | None) -> None:
    """Write a fit, as it stands at the end of an epoch, to ``path``.

    What :meth:`Trainer.save_checkpoint` does.

    Parameters
    ----------
    path : str or os.PathLike
        The file, written atomically.
    model : Sequential
        The model being trained.
    optimizer : Optimizer
        Its optimizer.
    state : FitState or None
        The fit's state (``trainer.fit_state``).

    Raises
    ------
    ValueError
        Before any fit, or part way through an epoch.
    """
    if state is None:
        raise ValueError("nothing to checkpoint: a checkpoint is written during or after Trainer.fit")
    if not state.at_epoch_end:
        raise ValueError("the fit stopped part way through an epoch, so the model is not at an epoch end; "
                         "a checkpoint holds complete epochs (use ModelCheckpoint to keep the last one)")
    ostate = optimizer.state_dict()
    header = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "model": model.config(),
        "epoch": state.epoch,
        "optimizer": {"type": ostate["type"], "repr": repr(optimizer), "step_count": ostate["step_count"],
                      "state": {k: (len(v) if isinstance(v, tuple) else None) for k, v in ostate["state"].items()}},
        "rng": state.rng.bit_generator.state,
        "history": {"epochs": list(state.history.epochs), "history": state.history.history},
        "fit": {"n_samples": state.n_samples, "batch_size": state.batch_size, "epochs": state.epochs},
    }
    try:
        arrays = {_HEADER: encode_header(header), _ORDER: state.order}
    except TypeError as e:
        raise TypeError(f"cannot write a checkpoint: the fit's state is not JSON-serialisable ({e}); "
                        "fit uses numpy.random.default_rng(seed)") from e
    for name, arr in model.named_parameters():
        arrays[_MODEL + name] = arr
    for key, value in ostate["state"].items():
        if isinstance(value, tuple):
            for j, a in enumerate(value):
                arrays[f"{_OPTIM}{key}/{j}"] = a
        else:
            arrays[_OPTIM + key] = value
    atomic_savez(os.fspath(path), arrays)


# ---- reading ------------------------------------------------------------------------

def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :class:`ModelCheckpoint` or :meth:`Trainer.save_checkpoint`.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    Checkpoint
        Everything needed to resume.

    Raises
    ------
    FileNotFoundError
        For a missing file.
    ModelFileError
        (a ValueError) For a truncated or damaged file, a model file
        (``Sequential.save``) or anything else, naming the file.  Nothing in
        the file is ever unpickled.
    """
    path = os.fspath(path)

    def bad(reason: str) -> ModelFileError:
        return ModelFileError(f"{path}: not a valid fastnn training checkpoint ({reason})")

    arrays = read_npz(path, bad)
    header = _read_header(arrays, bad)
    try:
        model_arrays = {k[len(_MODEL):]: v for k, v in arrays.items() if k.startswith(_MODEL)}
        model = Sequential.from_config(header["model"], model_arrays, f"{path} (checkpoint)")
        epoch = _count(header["epoch"], "epoch count", bad)
        oh = header["optimizer"]
        step_count = _count(oh["step_count"], "optimizer step count", bad)
        state, used = _optimizer_arrays(oh["state"], arrays, dict(model.named_parameters()), bad)
        n = int(header["fit"]["n_samples"])
        order = _sample_order(arrays.get(_ORDER), n, bad)
        extra = sorted(k for k in arrays if not k.startswith(_MODEL) and k not in used | {_ORDER})
        if extra:
            raise bad(f"unexpected arrays {extra}")
        rng_state = _checked_rng_state(header["rng"], bad)
        records = header["history"]
        history = History.from_records(records["epochs"], records["history"])
        fit = {k: int(header["fit"][k]) for k in ("n_samples", "batch_size", "epochs")}
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise bad(f"{type(e).__name__}: {e}") from e
    optimizer_state = {"type": str(oh["type"]), "step_count": step_count, "state": state}
    return Checkpoint(path, epoch, model, history, optimizer_state, str(oh.get("repr", oh["type"])),
                      rng_state, fit, order)


def _read_header(arrays: dict[str, np.ndarray], bad: Any) -> dict[str, Any]:
    """The checkpoint's JSON header, its format tag and version checked."""
    raw = arrays.pop(_HEADER, None)
    if raw is None:
        if "__config__" in arrays:
            raise bad("it is a model file written by Sequential.save; checkpoints are written by "
                      "fastnn.ModelCheckpoint or Trainer.save_checkpoint")
        raise bad("no checkpoint header")
    header = decode_header(raw, bad)
    if not isinstance(header, dict) or header.get("format") != FILE_FORMAT:
        raise bad("missing or foreign format tag")
    if header.get("version") != FILE_VERSION:
        raise bad(f"file version {header.get('version')!r}; this fastnn reads version {FILE_VERSION}")
    return header


def _count(value: Any, what: str, bad: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise bad(f"invalid {what} {value!r}")
    return int(value)


def _optimizer_arrays(counts: dict[str, int | None], arrays: dict[str, np.ndarray],
                      params: dict[str, np.ndarray], bad: Any) -> tuple[dict[str, Any], set[str]]:
    """The optimizer's state arrays by parameter name (a tuple where the header counts several), each checked.

    And the archive members used.
    """
    state, used = {}, set()
    for key, count in counts.items():
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
    return state, used


def _sample_order(order: np.ndarray | None, n: int, bad: Any) -> np.ndarray:
    if order is None or order.dtype != np.int64 or order.shape != (n,) \
            or not np.array_equal(np.sort(order), np.arange(n)):
        raise bad(f"the sample order is missing or not a permutation of {n} samples")
    return order


def _checked_rng_state(rng_state: dict[str, Any], bad: Any) -> dict[str, Any]:
    name = rng_state["bit_generator"]
    if not isinstance(name, str) or not isinstance(getattr(np.random, name, None), type) \
            or not issubclass(getattr(np.random, name), np.random.BitGenerator):
        raise bad(f"unknown bit generator {name!r}")
    getattr(np.random, name)().state = rng_state  # checks it
    return rng_state
