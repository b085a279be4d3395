"""Event time across restarts: an input partition's largest event time, committed with its offset.

A pipeline's watermark is the minimum over its input partitions, so a partition that reads no
new record after a restart would hold every window open for good if its event time started
again from nothing. As Kafka Streams keeps a partition's stream time in its offset commit, the
largest event time read from a partition goes into the metadata of the offset committed for it
(the same commit, so the two always agree), and comes back when the partition is assigned again
or its open transaction is aborted and it is read again from that commit.
"""

from __future__ import annotations

from typing import Any

import orjson

_FIELD = "headwater_event_time"


def encode(latest: int) -> str:
    """The commit metadata for a partition whose largest event time read is ``latest``.

    >>> encode(1_700_000_000_000)
    '{"headwater_event_time":1700000000000}'
    """
    return orjson.dumps({_FIELD: latest}).decode()


def decode(metadata: str | None) -> int | None:
    """The largest event time a commit's metadata holds; None when it holds none (a commit by
    an older version or another client).

    >>> decode(encode(5))
    5
    >>> decode("") is None and decode("something else") is None
    True
    """
    if not metadata:
        return None
    try:
        doc: Any = orjson.loads(metadata)
    except orjson.JSONDecodeError:
        return None
    value = doc.get(_FIELD) if isinstance(doc, dict) else None
    return value if isinstance(value, int) else None
