"""The windows benchmark's pipeline in Quix Streams, run inside benchmarks/.peer-venv.

A tumbling 10 s event-time window per key (the message key) with a count, sum and mean of
``amount``, emitted when the window closes (``.final()``). Event time is the value's ``ts``
field, as in the Headwater contender. Windows close per partition (``closing_strategy=
"partition"``): the latest event time of the partition passing the window's end, which is what
Headwater's watermark does with no out-of-orderness bound. The key is put into each result so
the harness can check it.

Arguments and output: see ``_harness``; the settings carry ``commit_interval`` and
``window_ms``.
"""

from __future__ import annotations

from typing import Any

from _harness import run
from quixstreams.dataframe import StreamingDataFrame
from quixstreams.dataframe.windows import Count, Mean, Sum


def event_time(value: Any, headers: Any, timestamp: float, timestamp_type: Any) -> int:
    return int(value["ts"])


def with_key(value: dict[str, Any], key: Any, timestamp: int, headers: Any) -> dict[str, Any]:
    return {"key": key, **value}


def pipeline(sdf: StreamingDataFrame, settings: dict[str, Any]) -> StreamingDataFrame:
    sdf = sdf.tumbling_window(settings["window_ms"]).agg(
        count=Count(), sum=Sum("amount"), mean=Mean("amount")
    )
    sdf = sdf.final(closing_strategy="partition")
    return sdf.apply(with_key, metadata=True)


if __name__ == "__main__":
    run("windows", pipeline, timestamp_extractor=event_time)
