"""Records in and out per second of every step of every deployment, from its replicas' counters.

Each replica serves ``headwater_step_records_in_total`` / ``_out_total`` per step (see
``headwater.runtime.loop.step_metrics``). Every few seconds the sampler scrapes every live
replica, adds up
what each counted since the sample before (a replica that restarted counts from zero again, so
a counter that went down counts whole) and keeps the sum over the deployment's replicas for a
window: a step's rate is what the window's samples grew by, per second of the window.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from headwater.platform.deployments.supervisor import Supervisor
from headwater.platform.metrics.inside import AppInside
from headwater.platform.metrics.models import ModelScores
from headwater.platform.metrics.periodic import PeriodicSampler
from headwater.platform.metrics.replica import SCRAPE_TIMEOUT, scrape_replica
from headwater.platform.metrics.sampler import SAMPLE_SECONDS

log = logging.getLogger(__name__)

STEP_WINDOW_SECONDS = 15.0  # three samples: recent, yet not one sample's noise

# Records in and out per step id.
Totals = dict[str, tuple[float, float]]


@dataclass
class _Deployment:
    last: dict[str, Totals] = field(default_factory=dict)  # replica address -> its last scrape
    counted: dict[str, list[float]] = field(default_factory=dict)  # step -> in, out since known
    samples: deque[tuple[float, Totals]] = field(default_factory=deque)


class StepRates:
    """Each deployment's step totals over the last ``window`` seconds; safe from any thread."""

    def __init__(self, window: float = STEP_WINDOW_SECONDS) -> None:
        self.window = window
        self._deployments: dict[int, _Deployment] = {}
        self._lock = threading.Lock()

    def observe(self, deployment: int, scraped: dict[str, Totals | None], now: float) -> None:
        """One sample of ``deployment``: each live replica's counters by address (None when it
        did not answer this time). Replicas missing from ``scraped`` are gone."""
        with self._lock:
            state = self._deployments.setdefault(deployment, _Deployment())
            for address in set(state.last) - set(scraped):
                del state.last[address]
            for address, totals in scraped.items():
                if totals is None:
                    continue  # no answer: its next one counts from the last it gave
                before = state.last.get(address)
                state.last[address] = totals
                if before is None:
                    continue  # first seen: what it counted so far happened before this window
                for step, (records_in, records_out) in totals.items():
                    was_in, was_out = before.get(step, (0.0, 0.0))
                    counted = state.counted.setdefault(step, [0.0, 0.0])
                    counted[0] += records_in - was_in if records_in >= was_in else records_in
                    counted[1] += records_out - was_out if records_out >= was_out else records_out
            state.samples.append((now, {s: (c[0], c[1]) for s, c in state.counted.items()}))
            while state.samples and state.samples[0][0] < now - self.window:
                state.samples.popleft()

    def keep_only(self, deployments: set[int]) -> None:
        """Forget deployments with no live replica: their rates are unknown, not zero."""
        with self._lock:
            for deployment in set(self._deployments) - deployments:
                del self._deployments[deployment]

    def rates(self, deployment: int) -> dict[str, tuple[float, float]] | None:
        """Records in and out per second per step over the window; None until two samples."""
        with self._lock:
            state = self._deployments.get(deployment)
            if state is None or len(state.samples) < 2:
                return None
            (first_at, first), (last_at, last) = state.samples[0], state.samples[-1]
        span = last_at - first_at
        if span <= 0:
            return None
        return {
            step: (
                (records_in - first.get(step, (0.0, 0.0))[0]) / span,
                (records_out - first.get(step, (0.0, 0.0))[1]) / span,
            )
            for step, (records_in, records_out) in last.items()
        }


def scrape_steps(address: str, timeout: float = SCRAPE_TIMEOUT) -> Totals | None:
    """The step counters a replica serves at ``address``, or None if it does not answer."""
    found = scrape_replica(address, timeout)
    return None if found is None else found.totals()


class StepSampler(PeriodicSampler):
    """A daemon thread scraping every live replica into ``rates`` until stopped."""

    def __init__(
        self,
        supervisor: Supervisor,
        rates: StepRates,
        inside: AppInside | None = None,
        interval: float = SAMPLE_SECONDS,
        models: ModelScores | None = None,
    ) -> None:
        super().__init__(interval, "headwater-steps")
        self.supervisor = supervisor
        self.rates = rates
        self.inside = inside  # the rest of what replicas report: busy time, checkpoints...
        self.models = models  # what model steps scored, per version

    def sample(self) -> None:
        """One sample of every deployment's live replicas."""
        addresses = self.supervisor.metrics_addresses()
        for deployment, found in addresses.items():
            if self.stopping:
                return
            scraped = {address: scrape_replica(address) for address in found}
            now = time.monotonic()
            totals = {a: None if m is None else m.totals() for a, m in scraped.items()}
            self.rates.observe(deployment, totals, now)
            if self.inside is not None:
                self.inside.observe(deployment, scraped, time.time())
            if self.models is not None:
                models = {a: None if m is None else m.models for a, m in scraped.items()}
                self.models.observe(deployment, models)
        self.rates.keep_only(set(addresses))
        if self.inside is not None:
            self.inside.keep_only(set(addresses))
        if self.models is not None:
            self.models.keep_only(set(addresses))
