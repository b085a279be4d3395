"""The joins benchmark's pipelines in Quix Streams, run inside benchmarks/.peer-venv.

``mode="asof"``: the payments (first input) joined with the limit changes (second input) by
``join_asof``: each payment meets the latest change of its card (the message key) at or before
its event time (the value's ``ts``, as in the Headwater contender), among the changes read so
far; ``how="left"`` keeps payments with none, ``on_merge="keep-left"`` keeps the payment's
``card`` and ``ts`` and adds ``limit``.

``mode="lookup"``: the payments joined by ``join_lookup`` with Quix Streams' own
``PostgresLookup``: one ``SELECT card_limit, tier ... WHERE card = %s LIMIT 1`` per payment
whose card is not in its cache (LRU of ``cache_size`` keys, ``ttl`` seconds), the row put in
the value as ``profile`` (None when there is no row).

Arguments and output: see ``_harness``; the settings carry ``commit_interval``, ``mode`` and,
for the lookup, ``postgres`` (a URL), ``table``, ``cache_size`` and ``cache_ttl``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from _harness import run
from quixstreams.dataframe import StreamingDataFrame


def event_time(value: Any, headers: Any, timestamp: float, timestamp_type: Any) -> int:
    return int(value["ts"])


def pipeline(sdf: StreamingDataFrame, settings: dict[str, Any]) -> StreamingDataFrame:
    if settings["mode"] == "asof":
        limits = settings["inputs"][1]
        return sdf.join_asof(limits, how="left", on_merge="keep-left")
    from quixstreams.dataframe.joins.lookups.postgresql import (
        PostgresLookup,
        PostgresLookupField,
    )

    url = urlparse(settings["postgres"])
    lookup = PostgresLookup(
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        dbname=url.path.lstrip("/"),
        user=url.username or "",
        password=url.password or "",
        cache_size=settings["cache_size"],
    )
    field = PostgresLookupField(
        table=settings["table"],
        columns=["card_limit", "tier"],
        on="card",
        ttl=settings["cache_ttl"],
    )
    return sdf.join_lookup(lookup, {"profile": field}, on="card")


if __name__ == "__main__":
    run("joins", pipeline, timestamp_extractor=event_time)
