"""A sampler thread: ``sample()`` every few seconds until stopped, surviving a bad sample."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class PeriodicSampler(ABC):
    """A daemon thread that calls :meth:`sample` every ``interval`` seconds until stopped."""

    def __init__(self, interval: float, name: str) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called: a long sample ends early."""
        return self._stop.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # a bad sample must not end sampling for the server's life
                log.exception("metrics: %s failed", self._thread.name)

    @abstractmethod
    def sample(self) -> None:
        """Take one sample."""
