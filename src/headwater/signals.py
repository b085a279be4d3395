"""Stop signals: SIGINT and SIGTERM ask for a clean stop rather than raising mid-work."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType


def on_stop_signals(callback: Callable[[signal.Signals], None]) -> Callable[[], None]:
    """Call ``callback(signal)`` on SIGINT and SIGTERM; returns an undo.

    Signal handlers can only be set from the main thread; elsewhere (an app run in a thread,
    as tests do) nothing is installed and the caller stops the app itself.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def handle(signum: int, frame: FrameType | None) -> None:
        callback(signal.Signals(signum))

    for s in previous:
        signal.signal(s, handle)

    def restore() -> None:
        for s, handler in previous.items():
            signal.signal(s, handler)

    return restore
