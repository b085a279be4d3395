"""The stateless benchmark's pipeline in Quix Streams, run inside benchmarks/.peer-venv.

Arguments and output: see ``_harness``; the settings also carry ``min_amount`` and ``eur_rate``.
"""

from __future__ import annotations

from typing import Any

from _harness import run
from quixstreams.dataframe import StreamingDataFrame


def pipeline(sdf: StreamingDataFrame, settings: dict[str, Any]) -> StreamingDataFrame:
    sdf = sdf[(sdf["status"] == "paid") & (sdf["amount"] >= settings["min_amount"])]
    sdf["amount_eur"] = sdf["amount"] * settings["eur_rate"]
    return sdf


if __name__ == "__main__":
    run("stateless", pipeline)
