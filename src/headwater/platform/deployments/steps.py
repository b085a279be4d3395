"""The steps of a deployed app, as its replicas report them in their status files.

A replica's status file (``headwater.runtime.loop.status``) lists the app's steps with their ids,
kinds, labels and inputs, and the address where it serves their counters. Both come from the
replica's own process, so they are checked here before the platform uses them: a step without
an id is dropped, and only a loopback address (where the supervisor told the replica to serve)
is ever scraped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The supervisor asks each replica to serve on a free port of this host; nothing else is
# scraped, whatever a replica writes.
METRICS_HOST = "127.0.0.1"
REPLICA_METRICS_ADDRESS = f"{METRICS_HOST}:0"
MAX_STEPS = 1_000
MAX_TEXT = 200


@dataclass(frozen=True)
class StepInfo:
    id: str
    kind: str
    label: str
    inputs: tuple[str, ...]


def parse_steps(raw: Any) -> tuple[StepInfo, ...]:
    """The steps of a status file's ``steps``; anything malformed is left out."""
    if not isinstance(raw, list):
        return ()
    found = []
    for item in raw[:MAX_STEPS]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        inputs = item.get("inputs")
        found.append(
            StepInfo(
                id=item["id"][:MAX_TEXT],
                kind=str(item.get("kind", ""))[:MAX_TEXT],
                label=str(item.get("label", ""))[:MAX_TEXT],
                inputs=tuple(str(i)[:MAX_TEXT] for i in inputs) if isinstance(inputs, list) else (),
            )
        )
    return tuple(found)


def metrics_address(raw: Any) -> str | None:
    """A status file's ``metrics`` if it is ``127.0.0.1:PORT``, else None."""
    if not isinstance(raw, str):
        return None
    host, _, port = raw.rpartition(":")
    if host != METRICS_HOST or not port.isdigit() or not 0 < int(port) <= 65535:
        return None
    return raw
