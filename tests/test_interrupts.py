"""Ctrl-C from another thread at a random moment of a fit: fit returns after
the step it interrupted, with the model exactly as that step left it (never
half updated), and the model predicts and can keep training; with a
checkpoint the run then resumes to the uninterrupted run's weights."""

import _thread
import os
import signal
import threading
import time

import numpy as np
import pytest

import fastnn
from fastnn.datasets import RandomShift

SENDERS = {
    "interrupt_main": lambda: _thread.interrupt_main(),  # Python 3.10+: runs the SIGINT handler
    "pthread_kill": lambda: signal.pthread_kill(threading.main_thread().ident, signal.SIGINT),
    "os_kill": lambda: os.kill(os.getpid(), signal.SIGINT),
}
DELAYS = [round(float(d), 4) for d in np.random.default_rng(20240611).uniform(0.0, 0.03, 3)]  # seconds
BATCH = 8


def _data(n=64, n_val=16):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n + n_val, 16))
    y = (X[:, :3].sum(axis=1) > 0).astype(np.int64) + (X[:, 3] > 0.5)
    return X[:n], y[:n], X[n:], y[n:]


def _trainer(seed=1):
    model = fastnn.Sequential([fastnn.Dense(16, 12, "tanh"), fastnn.Dense(12, 3, "softmax")],
                              dtype="float64", seed=seed)
    return fastnn.Trainer(model, "cross_entropy", fastnn.Adam(lr=0.01, schedule=fastnn.CosineLR()), batch_size=BATCH)


class _Interrupter(fastnn.Callback):
    """Starts a timer thread that sends Ctrl-C ``delay`` seconds after the
    first step (the fit's SIGINT handler is installed by then), and keeps a
    copy of the weights after every complete step.  Stops the fit itself
    after ``patience`` seconds if no interrupt arrived (then the test fails)."""

    def __init__(self, send, delay, patience=20.0):
        self.timer = threading.Timer(delay, send)
        self.timer.daemon = True
        self.steps, self.after_step, self.patience, self.gave_up = 0, None, patience, False

    def on_batch_end(self, trainer, step, logs):
        if self.steps == 0:
            self.deadline = time.monotonic() + self.patience
            self.timer.start()
        self.steps += 1
        self.after_step = trainer.model.state_dict()
        if time.monotonic() > self.deadline:
            self.gave_up = trainer.stop_training = True


@pytest.mark.parametrize("delay", DELAYS)
@pytest.mark.parametrize("sender", list(SENDERS))
def test_interrupt_from_a_timer_thread_stops_after_a_whole_step(sender, delay):
    X, y, Xv, yv = _data()
    trainer = _trainer()
    model = trainer.model
    cb = _Interrupter(SENDERS[sender], delay)
    # far more epochs than can run before the interrupt: only the interrupt ends this fit
    history = trainer.fit(X, y, epochs=10**6, validation_data=(Xv, yv), verbose=0, callbacks=[cb],
                          augment=RandomShift(1, image_shape=(4, 4)))
    cb.timer.join()
    assert not cb.gave_up, "the interrupt never reached the fit"
    assert history.interrupted
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the fit's handler is gone
    # the model is exactly as the last complete step left it: never part way through an update
    state = model.state_dict()
    for k in state:
        assert np.array_equal(state[k], cb.after_step[k]), k
        assert np.all(np.isfinite(state[k])), k
    assert trainer.optimizer.step_count == cb.steps
    steps_per_epoch = len(X) // BATCH
    assert len(history) == cb.steps // steps_per_epoch  # only complete epochs are recorded
    assert history.epochs == list(range(len(history)))
    # it predicts ...
    P = model.predict_proba(Xv)
    assert np.all(np.isfinite(P)) and np.allclose(P.sum(axis=1), 1)
    assert model.predict(Xv).shape == (len(Xv),)
    # ... and keeps training, the loss still going down
    before = model.evaluate(X, y)["loss"]
    more = trainer.fit(X, y, epochs=20, verbose=0, seed=1)
    assert not more.interrupted and len(more) == 20
    assert model.evaluate(X, y)["loss"] < before
    assert more["loss"][-1] < more["loss"][0]
    assert all(np.all(np.isfinite(a)) for a in model.state_dict().values())


def test_interrupt_during_on_epoch_end_is_reported(tmp_path):
    """Ctrl-C that arrives after the epoch's own check (in a callback's
    on_epoch_end, e.g. while a checkpoint is written) still stops the fit
    and is reported as an interruption, the epoch kept whole."""
    X, y, _, _ = _data()
    trainer = _trainer()

    class CtrlCAtEpochEnd(fastnn.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 1:
                signal.raise_signal(signal.SIGINT)

    path = tmp_path / "run.ckpt"
    history = trainer.fit(X, y, epochs=5, verbose=0, callbacks=[fastnn.ModelCheckpoint(path), CtrlCAtEpochEnd()])
    assert history.interrupted and len(history) == 2
    assert trainer.optimizer.step_count == 2 * len(X) // BATCH
    assert fastnn.load_checkpoint(path).epoch == 2


def test_a_second_interrupt_raises_keyboard_interrupt_at_once():
    """Documented: the first Ctrl-C asks the fit to stop after the step; a
    second one before that raises KeyboardInterrupt; the handler is still
    put back, and the trainer can be used again."""
    X, y, _, _ = _data()
    trainer = _trainer()

    class Twice(fastnn.Callback):
        def on_batch_end(self, trainer, step, logs):
            if trainer.optimizer.step_count == 5:
                signal.raise_signal(signal.SIGINT)
                signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        trainer.fit(X, y, epochs=3, verbose=0, callbacks=[Twice()])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert trainer.optimizer.step_count == 5
    history = trainer.fit(X, y, epochs=2, verbose=0)
    assert len(history) == 2 and not history.interrupted
    assert np.all(np.isfinite(trainer.model.predict_proba(X)))


@pytest.mark.parametrize("delay", DELAYS)
@pytest.mark.parametrize("sender", ["interrupt_main", "os_kill"])
def test_interrupted_at_a_random_step_then_resumed_equals_the_uninterrupted_run(sender, delay, tmp_path):
    X, y, Xv, yv = _data()
    epochs = 200
    kw = {"validation_data": (Xv, yv), "verbose": 0, "augment": RandomShift(1, image_shape=(4, 4))}
    ref = _trainer()
    ref.fit(X, y, epochs=epochs, seed=3, **kw)

    path = tmp_path / "run.ckpt"
    trainer = _trainer()
    cb = _Interrupter(SENDERS[sender], delay)
    late = []
    # should the fit end before the timer fires, the signal must not hit the test itself
    old = signal.signal(signal.SIGINT, lambda signum, frame: late.append(signum))
    try:
        history = trainer.fit(X, y, epochs=epochs, seed=3, callbacks=[cb, fastnn.ModelCheckpoint(path)], **kw)
        cb.timer.join()
        assert late == ([] if history.interrupted else [signal.SIGINT])
    finally:
        signal.signal(signal.SIGINT, old)
    if history.interrupted:
        assert len(history) <= epochs
        assert fastnn.load_checkpoint(path).epoch == len(history)
        resumed = _trainer(seed=42)  # as a new process would: nothing from the interrupted objects
        history = resumed.fit(X, y, epochs=epochs, resume_from=path, **kw)
    else:  # the run finished first (a slow machine): it must still be the same run
        resumed = trainer
    assert history.epochs == list(range(epochs))
    want, got = ref.model.state_dict(), resumed.model.state_dict()
    for k in want:
        assert np.array_equal(got[k], want[k]), k


class _SeesHandler(fastnn.Callback):
    """Records the SIGINT handler in place during the fit."""

    def __init__(self):
        self.seen = []

    def on_batch_end(self, trainer, step, logs):
        self.seen.append(signal.getsignal(signal.SIGINT))


def test_fit_installs_its_handler_for_the_call_only_and_puts_back_the_callers():
    X, y, _, _ = _data()

    def mine(signum, frame):
        pass

    old = signal.signal(signal.SIGINT, mine)
    try:
        cb = _SeesHandler()
        _trainer().fit(X, y, epochs=1, verbose=0, callbacks=[cb])
        assert cb.seen and all(h is not mine and callable(h) for h in cb.seen)  # the fit's own, during the fit
        assert signal.getsignal(signal.SIGINT) is mine

        class Fails(fastnn.Callback):
            def on_batch_end(self, trainer, step, logs):
                raise RuntimeError("a callback's error")

        with pytest.raises(RuntimeError, match="a callback's error"):  # and after a fit that raised
            _trainer().fit(X, y, epochs=1, verbose=0, callbacks=[cb, Fails()])
        assert cb.seen[-1] is not mine
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, old)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_fit_in_another_thread_installs_no_handler():
    """Python runs signal handlers in the main thread only: a fit in a worker
    thread leaves SIGINT to the main thread (and could not install a handler)."""
    X, y, _, _ = _data()
    cb, result = _SeesHandler(), {}

    def work():
        try:
            result["history"] = _trainer().fit(X, y, epochs=2, verbose=0, callbacks=[cb])
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            result["error"] = e

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert "error" not in result, result.get("error")
    assert len(result["history"]) == 2 and not result["history"].interrupted
    assert cb.seen and all(h is signal.default_int_handler for h in cb.seen)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
