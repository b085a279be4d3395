"""Budgets for password checks: failed logins in a sliding window, and checks at once.

Failures are counted per (user name, address), per address and over the whole server, so
neither guessing one account's password, nor a flood of random names from one address, nor a
flood from many addresses gets far. At most ``concurrent`` password hashes are computed at a
time (argon2 takes 64 MiB and tens of milliseconds each) and only ``queue`` more wait: a flood
costs bounded memory and CPU, and requests that do not log in are not slowed down by it.
The tables are bounded too: past ``max_keys`` names or addresses the oldest are forgotten.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """Why a password check may not happen now, and for how long."""

    seconds: float
    reason: str


class Busy(Exception):
    """More password checks are waiting than the server queues."""


class LoginLimiter:
    """Allows ``attempts`` failures per (user, address), ``per_address`` per address and
    ``overall`` in all, each in ``window`` seconds."""

    def __init__(
        self,
        attempts: int,
        window: float,
        per_address: int = 30,
        overall: int = 300,
        concurrent: int = 2,
        queue: int = 16,
        max_keys: int = 10_000,
    ) -> None:
        self._window = window
        self._limits = {"user": attempts, "address": per_address}
        self._overall_limit = overall
        self._tables: dict[str, OrderedDict[str, deque[float]]] = {
            "user": OrderedDict(),
            "address": OrderedDict(),
        }
        self._overall: deque[float] = deque(maxlen=overall)
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._checks = asyncio.Semaphore(concurrent)
        self._waiting = 0
        self._queue = concurrent + queue

    def refusal(self, user: str, address: str) -> Refusal | None:
        """Why no attempt is allowed now, or None when it is."""
        now = time.monotonic()
        with self._lock:
            for kind, key, what in (
                ("user", _user_key(user, address), f"for {user!r}"),
                ("address", address, "from your address"),
            ):
                failures = self._recent(kind, key, now)
                if failures is not None and len(failures) >= self._limits[kind]:
                    wait = failures[0] + self._window - now
                    return Refusal(wait, f"too many failed logins {what}")
            overall = self._overall
            if len(overall) >= self._overall_limit and overall[0] > now - self._window:
                return Refusal(
                    overall[0] + self._window - now, "too many failed logins on this server"
                )
        return None

    def failed(self, user: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for kind, key in (("user", _user_key(user, address)), ("address", address)):
                table = self._tables[kind]
                failures = table.setdefault(key, deque(maxlen=self._limits[kind]))
                failures.append(now)
                table.move_to_end(key)
                while len(table) > self._max_keys:
                    table.popitem(last=False)
            self._overall.append(now)

    def succeeded(self, user: str, address: str) -> None:
        with self._lock:
            self._tables["user"].pop(_user_key(user, address), None)

    @asynccontextmanager
    async def check_slot(self) -> AsyncIterator[None]:
        """Wait for a turn to hash a password; Busy if too many wait already."""
        if self._waiting >= self._queue:
            raise Busy
        self._waiting += 1
        try:
            async with self._checks:
                yield
        finally:
            self._waiting -= 1

    def entries(self) -> int:
        """How many names and addresses the tables hold (for tests and metrics)."""
        with self._lock:
            return sum(len(table) for table in self._tables.values())

    def _recent(self, kind: str, key: str, now: float) -> deque[float] | None:
        table = self._tables[kind]
        failures = table.get(key)
        if failures is None:
            return None
        while failures and failures[0] < now - self._window:
            failures.popleft()
        if not failures:
            del table[key]
            return None
        return failures


def _user_key(user: str, address: str) -> str:
    return f"{user.lower()}\x00{address}"
