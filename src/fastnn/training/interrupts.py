"""Ctrl-C during ``fit``: a flag checked between steps, so that training stops with the model consistent."""

from __future__ import annotations

from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Interrupts"]


class Interrupts:
    """A context manager that turns SIGINT into ``requested = True``.

    It installs its handler only on entering and only in the main thread
    (Python runs signal handlers there: in any other thread ``fit`` never
    sees Ctrl-C, and the main thread gets the KeyboardInterrupt), and puts
    the previous handler back on leaving.  A second Ctrl-C before the flag
    is acted on raises KeyboardInterrupt at once.
    """

    def __init__(self) -> None:
        self.requested = False
        self._old: Any = None

    def __enter__(self) -> Self:
        # signal and threading are imported here, not at the top: import fastnn need not load them
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            try:
                self._old = signal.signal(signal.SIGINT, self._handler)
            except ValueError:  # e.g. an embedded interpreter that forbids it
                self._old = None
        return self

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        if self._old is not None:
            import signal

            signal.signal(signal.SIGINT, self._old)
        return False
