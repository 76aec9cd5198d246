"""Checkpoints: ModelCheckpoint + fit(resume_from=...) continue a run exactly
where it stopped (bit-identical final weights and history), however it
stopped; damaged, foreign and mismatched checkpoints are rejected clearly
and leave the model alone; writing is atomic."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn.datasets import RandomShift

EPOCHS = 6
STOP_AFTER = 3  # complete epochs before the run is stopped
BATCH = 8


def _data(seed=0, n=72, n_val=24):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + n_val, 16))
    y = (X[:, :4].sum(axis=1) > 0).astype(np.int64) + (X[:, 4] > 0.5)
    return X[:n], y[:n], X[n:], y[n:]


def _model(seed=1, hidden=12, dtype="float64"):
    return fastnn.Sequential([fastnn.Dense(16, hidden, "tanh"), fastnn.Dense(hidden, 3, "softmax")],
                             dtype=dtype, seed=seed)


# name -> (optimizer factory, fit keyword arguments besides X, y, epochs)
CONFIGS = {
    "sgd_nesterov_momentum": (lambda: fastnn.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
                              {"validation": "data"}),
    "adam_onecycle_augment": (lambda: fastnn.Adam(lr=0.01, schedule=fastnn.OneCycleLR()),
                              {"validation": "data", "augment": True}),
    "adamw_cosine_split_augment": (lambda: fastnn.Adam(lr=0.01, weight_decay=0.01,
                                                        schedule=fastnn.CosineLR(warmup=5)),
                                   {"validation": "split", "augment": True}),
    "fused_sgd_steplr": (lambda: fastnn.SGD(lr=0.1, schedule=fastnn.StepLR(2, gamma=0.5)), {}),
}


def _fit_kwargs(config, data, **extra):
    _X, _y, Xv, yv = data
    opts = CONFIGS[config][1]
    kw = {"verbose": 0, "seed": 5}
    if opts.get("validation") == "data":
        kw["validation_data"] = (Xv, yv)
    elif opts.get("validation") == "split":
        kw["validation_split"] = 0.25
    if opts.get("augment"):
        kw["augment"] = RandomShift(1, image_shape=(4, 4))
    kw.update(extra)
    return kw


def _trainer(config, model_seed=1):
    return fastnn.Trainer(_model(model_seed), "cross_entropy", CONFIGS[config][0](), batch_size=BATCH)


def _uninterrupted(config, data):
    trainer = _trainer(config)
    history = trainer.fit(data[0], data[1], epochs=EPOCHS, **_fit_kwargs(config, data))
    return trainer.model.state_dict(), history


def _assert_same_run(model, history, ref_state, ref_history):
    state = model.state_dict()
    for k in ref_state:
        assert np.array_equal(state[k], ref_state[k]), k
    assert history.epochs == list(range(EPOCHS))
    for key in ref_history.history:
        if key != "seconds":
            assert history[key] == ref_history[key], key  # exactly: the same steps on the same batches


class _StopAtEpochEnd(fastnn.Callback):
    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == STOP_AFTER - 1:
            trainer.stop_training = True


class _StopMidEpoch(fastnn.Callback):
    """Stops (by stop_training, or by Ctrl-C) part way through epoch STOP_AFTER + 1."""

    def __init__(self, how, steps_per_epoch):
        self.how, self.steps_per_epoch, self.steps = how, steps_per_epoch, 0

    def on_batch_end(self, trainer, step, logs):
        self.steps += 1
        if self.steps == STOP_AFTER * self.steps_per_epoch + 2:
            if self.how == "ctrl_c":
                signal.raise_signal(signal.SIGINT)
            else:
                trainer.stop_training = True


def _stop(trainer, how, data, kw, path):
    """Run the config with a ModelCheckpoint and stop it after STOP_AFTER
    complete epochs (plus part of the next one for the mid-epoch ways)."""
    steps_per_epoch = -(-round(len(data[0]) * (0.75 if "validation_split" in kw else 1)) // BATCH)
    stopper = _StopAtEpochEnd() if how in ("epoch_end", "new_process") else _StopMidEpoch(how, steps_per_epoch)
    history = trainer.fit(data[0], data[1], epochs=EPOCHS, callbacks=[fastnn.ModelCheckpoint(path), stopper], **kw)
    if how == "ctrl_c":
        assert history.interrupted
    assert len(history) == STOP_AFTER + (how == "mid_epoch")  # stop_training records the partial epoch
    assert fastnn.load_checkpoint(path).epoch == STOP_AFTER  # the checkpoint holds complete epochs only
    return history


@pytest.mark.parametrize("how", ["epoch_end", "mid_epoch", "ctrl_c", "new_process"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_resume_gives_the_uninterrupted_run(config, how, tmp_path):
    data = _data()
    ref_state, ref_history = _uninterrupted(config, data)
    path = tmp_path / "run.ckpt"
    trainer = _trainer(config)
    _stop(trainer, how, data, _fit_kwargs(config, data), path)
    if how == "new_process":  # new objects, other initial weights, no seed: all comes from the file
        trainer = _trainer(config, model_seed=99)
    history = trainer.fit(data[0], data[1], epochs=EPOCHS, resume_from=path, callbacks=[fastnn.ModelCheckpoint(path)],
                          **_fit_kwargs(config, data, seed=None))
    assert not history.interrupted
    _assert_same_run(trainer.model, history, ref_state, ref_history)
    assert trainer.optimizer.step_count == fastnn.load_checkpoint(path).optimizer_state["step_count"]
    assert fastnn.load_checkpoint(path).epoch == EPOCHS


def test_resume_in_a_new_python_process(tmp_path):
    """A real new interpreter resumes from the file and ends with the
    uninterrupted run's weights."""
    config = "adam_onecycle_augment"
    data = _data()
    ref_state, _ = _uninterrupted(config, data)
    path = tmp_path / "run.ckpt"
    _stop(_trainer(config), "epoch_end", data, _fit_kwargs(config, data), path)
    np.savez(tmp_path / "data.npz", *data)
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        import fastnn
        from fastnn.datasets import RandomShift
        fastnn.set_num_threads({fastnn.get_num_threads()})
        X, y, Xv, yv = (np.load(sys.argv[1])[f"arr_{{i}}"] for i in range(4))
        model = fastnn.Sequential([fastnn.Dense(16, 12, "tanh"), fastnn.Dense(12, 3, "softmax")], dtype="float64")
        trainer = fastnn.Trainer(model, "cross_entropy", fastnn.Adam(lr=0.01, schedule=fastnn.OneCycleLR()),
                                 batch_size={BATCH})
        h = trainer.fit(X, y, epochs={EPOCHS}, validation_data=(Xv, yv), verbose=0,
                        augment=RandomShift(1, image_shape=(4, 4)), resume_from=sys.argv[2])
        assert h.epochs == list(range({EPOCHS})), h.epochs
        model.save(sys.argv[3])
    """)
    out = tmp_path / "final.fnn"
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "data.npz"), str(path), str(out)],
                   check=True, timeout=120)
    state = fastnn.load(out).state_dict()
    for k in ref_state:
        assert np.array_equal(state[k], ref_state[k]), k


def test_every_and_epoch_in_the_path(tmp_path):
    config = "sgd_nesterov_momentum"
    data = _data()
    ref_state, ref_history = _uninterrupted(config, data)
    trainer = _trainer(config)
    ckpt = fastnn.ModelCheckpoint(tmp_path / "run-{epoch:02d}.ckpt", every=2)
    trainer.fit(data[0], data[1], epochs=5, callbacks=[ckpt], **_fit_kwargs(config, data))
    assert sorted(os.listdir(tmp_path)) == ["run-02.ckpt", "run-04.ckpt"]  # and no temporary files
    assert ckpt.last_saved == str(tmp_path / "run-04.ckpt")
    trainer = _trainer(config, model_seed=7)
    history = trainer.fit(data[0], data[1], epochs=EPOCHS, resume_from=tmp_path / "run-02.ckpt",
                          **_fit_kwargs(config, data))
    _assert_same_run(trainer.model, history, ref_state, ref_history)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="every"):
            fastnn.ModelCheckpoint("x", every=bad)
    for bad in (1.5, True, "2"):  # the wrong type
        with pytest.raises(TypeError, match="every must be an int"):
            fastnn.ModelCheckpoint("x", every=bad)
    assert fastnn.ModelCheckpoint("x", every=np.int64(3)).every == 3


def test_load_checkpoint_and_resuming_a_finished_run(tmp_path):
    config = "adam_onecycle_augment"
    data = _data()
    trainer = _trainer(config)
    path = tmp_path / "run.ckpt"
    history = trainer.fit(data[0], data[1], epochs=EPOCHS, callbacks=[fastnn.ModelCheckpoint(path)],
                          **_fit_kwargs(config, data))
    ck = fastnn.load_checkpoint(path)
    assert ck.epoch == EPOCHS and ck.history.epochs == history.epochs
    assert ck.history["val_loss"] == history["val_loss"]
    assert ck.optimizer_state["type"] == "Adam" and ck.optimizer_state["step_count"] == trainer.optimizer.step_count
    assert set(ck.optimizer_state["state"]) == {"0.weight", "0.bias", "1.weight", "1.bias"}
    assert ck.rng_state["bit_generator"] == "PCG64"
    np.testing.assert_array_equal(ck.model.predict(data[0]), trainer.model.predict(data[0]))
    # nothing is pickled: the plain NumPy loader reads it without pickle
    with np.load(path, allow_pickle=False) as npz:
        assert "__checkpoint__" in npz.files
    # resuming a run that is already complete trains nothing and restores the checkpoint
    fresh = _trainer(config, model_seed=3)
    again = fresh.fit(data[0], data[1], epochs=EPOCHS, resume_from=path, **_fit_kwargs(config, data))
    assert again.epochs == history.epochs and fresh.optimizer.step_count == trainer.optimizer.step_count
    np.testing.assert_array_equal(fresh.model.predict(data[0]), trainer.model.predict(data[0]))
    # ... and a longer run continues from it
    longer = fresh.fit(data[0], data[1], epochs=EPOCHS + 2, resume_from=path, **_fit_kwargs(config, data))
    assert longer.epochs == list(range(EPOCHS + 2))
    # save_checkpoint after fit works; before any fit it says why not
    trainer.save_checkpoint(tmp_path / "after.ckpt")
    assert fastnn.load_checkpoint(tmp_path / "after.ckpt").epoch == EPOCHS
    with pytest.raises(ValueError, match="during or after Trainer.fit"):
        _trainer(config).save_checkpoint(tmp_path / "never.ckpt")


def test_no_checkpoint_of_a_partial_epoch(tmp_path):
    config = "sgd_nesterov_momentum"
    data = _data()
    trainer = _trainer(config)
    _stop(trainer, "mid_epoch", data, _fit_kwargs(config, data), tmp_path / "run.ckpt")
    with pytest.raises(ValueError, match="part way through an epoch"):
        trainer.save_checkpoint(tmp_path / "partial.ckpt")
    assert not (tmp_path / "partial.ckpt").exists()


def _good_checkpoint(tmp_path, config="adam_onecycle_augment"):
    data = _data()
    trainer = _trainer(config)
    path = tmp_path / "good.ckpt"
    trainer.fit(data[0], data[1], epochs=2, callbacks=[fastnn.ModelCheckpoint(path)], **_fit_kwargs(config, data))
    return path, data


def _damage(kind, good, path, tmp_path):
    raw = good.read_bytes()
    if kind == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "flipped_byte":  # in the middle of the array data: the zip CRC catches it
        b = bytearray(raw)
        b[len(b) // 2] ^= 0x40
        path.write_bytes(bytes(b))
    elif kind == "text":
        path.write_text("not a checkpoint\n")
    elif kind == "model_file":
        _model().save(path)
    elif kind == "no_order":
        with np.load(good) as npz:
            arrays = {k: npz[k] for k in npz.files if k != "fit/order"}
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    elif kind == "bad_header":
        with np.load(good) as npz:
            arrays = {k: npz[k] for k in npz.files}
        arrays["__checkpoint__"] = np.frombuffer(b'{"format": "fastnn.Checkpoint", "vers', dtype=np.uint8)
        with open(path, "wb") as f:
            np.savez(f, **arrays)


@pytest.mark.parametrize("kind", ["truncated", "empty", "flipped_byte", "text", "model_file", "no_order",
                                  "bad_header"])
def test_damaged_checkpoint_is_rejected_naming_the_file(kind, tmp_path):
    good, data = _good_checkpoint(tmp_path)
    path = tmp_path / "damaged.ckpt"
    _damage(kind, good, path, tmp_path)
    with pytest.raises(fastnn.ModelFileError, match="damaged.ckpt") as e:
        fastnn.load_checkpoint(path)
    if kind == "model_file":
        assert "Sequential.save" in str(e.value)
    trainer = _trainer("adam_onecycle_augment", model_seed=4)
    before = trainer.model.state_dict()
    with pytest.raises(fastnn.ModelFileError, match="damaged.ckpt"):
        trainer.fit(data[0], data[1], epochs=EPOCHS, resume_from=path,
                    **_fit_kwargs("adam_onecycle_augment", data))
    after = trainer.model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # untouched
    assert trainer.optimizer.step_count == 0 and not trainer.optimizer.state
    with pytest.raises(FileNotFoundError):
        trainer.fit(data[0], data[1], epochs=1, resume_from=tmp_path / "missing.ckpt", verbose=0)


@pytest.mark.parametrize("what", ["hidden_size", "depth", "dtype", "activation", "optimizer", "batch_size",
                                  "n_samples"])
def test_checkpoint_of_another_run_is_rejected_clearly(what, tmp_path):
    good, data = _good_checkpoint(tmp_path)
    X, y = data[0], data[1]
    model, opt, batch = _model(), fastnn.Adam(lr=0.01, schedule=fastnn.OneCycleLR()), BATCH
    if what == "hidden_size":
        model = _model(hidden=13)
    elif what == "depth":
        model = fastnn.Sequential([fastnn.Dense(16, 12, "tanh"), fastnn.Dense(12, 12, "tanh"),
                                   fastnn.Dense(12, 3, "softmax")], dtype="float64")
    elif what == "dtype":
        model = _model(dtype="float32")
    elif what == "activation":
        model = fastnn.Sequential([fastnn.Dense(16, 12, "relu"), fastnn.Dense(12, 3, "softmax")], dtype="float64")
    elif what == "optimizer":
        opt = fastnn.SGD(lr=0.1, momentum=0.9)
    elif what == "batch_size":
        batch = BATCH * 2
    elif what == "n_samples":
        X, y = X[:-8], y[:-8]
    trainer = fastnn.Trainer(model, "cross_entropy", opt, batch_size=batch)
    before = model.state_dict()
    expect = {"hidden_size": "different model.*16-12-3.*16-13-3", "depth": "different model",
              "dtype": "different model.*float64.*float32", "activation": "different model.*tanh.*relu",
              "optimizer": "optimizer Adam.*trainer's is a SGD", "batch_size": "batches of 8.*batches of 16",
              "n_samples": "72 training samples.*64 samples"}[what]
    with pytest.raises(ValueError, match="good.ckpt") as e:
        trainer.fit(X, y, epochs=EPOCHS, resume_from=good, verbose=0)
    assert not isinstance(e.value, fastnn.ModelFileError)  # the file is fine; it is of another run
    assert __import__("re").search(expect, str(e.value)), str(e.value)
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert opt.step_count == 0 and not opt.state


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path, data = _good_checkpoint(tmp_path)
    good = path.read_bytes()
    trainer = _trainer("sgd_nesterov_momentum")
    trainer.fit(data[0], data[1], epochs=1, **_fit_kwargs("sgd_nesterov_momentum", data))

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="No space"):
        trainer.save_checkpoint(path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["good.ckpt"]  # no temporary file left
