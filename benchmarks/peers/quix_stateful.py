"""The stateful benchmark's pipeline in Quix Streams, run inside benchmarks/.peer-venv.

A running count and sum per key with a stateful ``apply`` (RocksDB state with changelog
topics, Quix's defaults), every update written to the output topic. The row function is the
Headwater contender's own, from ``_common`` (which imports only what this virtualenv has too).

Arguments and output: see ``_harness``; the settings carry ``guarantee`` and
``commit_interval``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from _harness import run
from quixstreams.dataframe import StreamingDataFrame

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import running_totals


def pipeline(sdf: StreamingDataFrame, settings: dict[str, Any]) -> StreamingDataFrame:
    return sdf.apply(running_totals, stateful=True)


if __name__ == "__main__":
    run("stateful", pipeline)
