"""Which partitions a member keeps standby stores for, and keeping them up to date.

Every member runs the same rule over the same group description, so they agree without talking:
for each stateful input partition, the members other than its owner, sorted by member id, are
taken round-robin from ``partition % len(others)``, and the first ``standby_replicas`` of them
keep a standby. The description comes from the admin API (DescribeGroups), asked without
blocking the loop, after every change of this member's assignment and every
``STANDBY_REFRESH`` seconds (another member joining or leaving changes nothing here).

A cluster that describes no members' assignments (some Kafka-compatible brokers do not, or the
app lacks the Describe ACL on its group) gets the fallback: stand by for every stateful
partition this member does not own. With two replicas that is exactly one standby per
partition; with more, each partition has more standbys than asked, which costs reads, never
correctness.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupState, KafkaException
from confluent_kafka.admin import AdminClient

from headwater.kafka.settings import KafkaSettings
from headwater.state import StateManager

log = logging.getLogger("headwater.standby")

Partition = tuple[str, int]
STANDBY_REFRESH = 10.0  # seconds between group descriptions when nothing changed here
# Changelog records applied to standbys per loop iteration: a bounded slice of work, so the
# partitions this member owns keep being processed in between.
STANDBY_STEP = 20_000


def choose_standbys(
    owners: Mapping[Partition, str], members: Iterable[str], me: str, replicas: int
) -> set[Partition]:
    """The partitions ``me`` keeps standbys for, given each partition's owner.

    >>> owners = {("orders", 0): "m1", ("orders", 1): "m2", ("orders", 2): "m3"}
    >>> sorted(choose_standbys(owners, ["m1", "m2", "m3"], "m1", replicas=1))
    [('orders', 2)]
    >>> sorted(choose_standbys(owners, ["m1", "m2", "m3"], "m1", replicas=2))
    [('orders', 1), ('orders', 2)]
    """
    ordered = sorted(set(members))
    chosen: set[Partition] = set()
    for (topic, partition), owner in owners.items():
        others = [m for m in ordered if m != owner]
        if not others or owner == me:
            continue
        start = partition % len(others)  # spreads one owner's partitions over the others
        picks = {others[(start + i) % len(others)] for i in range(min(replicas, len(others)))}
        if me in picks:
            chosen.add((topic, partition))
    return chosen


def owners_of(members: Sequence[Any], topics: Iterable[str]) -> dict[Partition, str] | None:
    """Partition -> owning member id from a group description's members, for ``topics``; None
    when the description carries no assignments to go by."""
    wanted = set(topics)
    owners: dict[Partition, str] = {}
    described = False
    for member in members:
        assignment = getattr(member, "assignment", None)
        if assignment is None:
            continue
        described = True
        for tp in assignment.topic_partitions or ():
            if tp.topic in wanted:
                owners[(tp.topic, tp.partition)] = member.member_id
    return owners if described else None


class StandbyPlanner:
    """Keeps ``state``'s standby stores matching the rule above; ``tick()`` runs in the loop."""

    def __init__(
        self,
        settings: KafkaSettings,
        group: str,
        replicas: int,
        topics: Iterable[str],
        consumer: Consumer,
        state: StateManager,
    ) -> None:
        self.group = group
        self.replicas = replicas
        self.topics = sorted(set(topics))
        self._consumer = consumer
        self._state = state
        self._admin = AdminClient(settings.client_config())
        self._pending: Future[Any] | None = None
        self._assigned: set[Partition] | None = None  # as of the last refresh
        self._refreshed = 0.0
        self._mode = ""  # "group" or "fallback", logged when it changes

    def tick(self, assigned: set[Partition]) -> None:
        """Refresh the plan when due (never blocking on the broker), then apply a slice of
        changelog records to the standbys."""
        now = time.monotonic()
        if self._pending is None and (
            assigned != self._assigned or now - self._refreshed >= STANDBY_REFRESH
        ):
            self._assigned = set(assigned)
            self._refreshed = now
            self._pending = self._admin.describe_consumer_groups([self.group])[self.group]
        if self._pending is not None and self._pending.done():
            pending, self._pending = self._pending, None
            self._apply(pending, assigned)
        self._state.standby.step(STANDBY_STEP, timeout=0)

    def _apply(self, described: Future[Any], assigned: set[Partition]) -> None:
        partitions = self._partitions()
        if partitions is None:
            return  # metadata unavailable for now: keep the standbys as they are
        owners = None
        me = self._consumer.memberid() or ""
        try:
            group = described.result()
            owners = owners_of(group.members, self.topics)
        except KafkaException as exc:
            self._set_mode("fallback", f"describing group {self.group!r} failed: {exc}")
        if owners is not None and me:
            if group.state != ConsumerGroupState.STABLE or not owners:
                # Mid-rebalance the assignments are in flux: keep the standbys, look again soon.
                self._refreshed = time.monotonic() - STANDBY_REFRESH + 1.0
                return
            self._set_mode("group", "standbys chosen from the group's member assignments")
            members = {m.member_id for m in group.members}
            wanted = choose_standbys(owners, members | {me}, me, self.replicas)
        else:
            if owners is None:
                self._set_mode(
                    "fallback",
                    "the cluster does not describe member assignments: standing by for every "
                    "stateful partition not owned here",
                )
            wanted = partitions
        standbys = self._state.set_standbys(sorted(wanted - assigned))
        log.debug("standby partitions: %s", sorted(standbys))

    def _partitions(self) -> set[Partition] | None:
        """Every partition of the stateful input topics, from cluster metadata."""
        found: set[Partition] = set()
        for topic in self.topics:
            try:
                metadata = self._consumer.list_topics(topic, timeout=5).topics.get(topic)
            except KafkaException as exc:
                log.warning("standby: no metadata for %s: %s", topic, exc)
                return None
            if metadata is None or metadata.error is not None:
                return None
            found.update((topic, p) for p in metadata.partitions)
        return found

    def _set_mode(self, mode: str, why: str) -> None:
        if mode != self._mode:
            self._mode = mode
            log.info("standby replicas=%d: %s", self.replicas, why)
