"""Failed logins per user name and client address, in a sliding window."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginLimiter:
    """Allows ``attempts`` failures per (user, address) in ``window`` seconds."""

    def __init__(self, attempts: int, window: float) -> None:
        self._attempts = attempts
        self._window = window
        self._failures: defaultdict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, user: str, address: str) -> float:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        with self._lock:
            key = (user.lower(), address)
            failures = self._recent(key) if key in self._failures else deque()
            if len(failures) < self._attempts:
                return 0.0
            return max(0.0, failures[0] + self._window - time.monotonic())

    def failed(self, user: str, address: str) -> None:
        with self._lock:
            self._recent((user.lower(), address)).append(time.monotonic())

    def succeeded(self, user: str, address: str) -> None:
        with self._lock:
            self._failures.pop((user.lower(), address), None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures[key]
        cutoff = time.monotonic() - self._window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures
