"""One pipeline, two modes: ``sdf.test(...)`` gives exactly what the live run produces."""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from integration_helpers import (
    FAST_GROUP,
    produce_records,
    read_topic,
    running,
    wait_for_records,
)

from headwater import App, StreamingDataFrame

pytestmark = pytest.mark.broker

Record = tuple[Any, int, tuple[tuple[str, Any], ...]]


def _inputs(n: int) -> list[Any]:
    values: list[Any] = []
    for i in range(n):
        if i == 17:
            values.append(b'{"n": 17, "amount": ')  # malformed: a dead letter in both modes
            continue
        values.append(
            {
                "n": i,
                "amount": None if i % 11 == 4 else round(3.7 * i, 1),
                "country": ["FR", "DE", "XX", "US"][i % 4],
            }
        )
    return values


def _label(value: dict[str, Any]) -> dict[str, Any]:
    if value["n"] == 41:
        raise KeyError("no label for 41")
    return {**value, "label": f"{value['country'].lower()}-{value['n'] % 3}"}


def _features(df: pd.DataFrame) -> pd.DataFrame:
    df["big"] = df["net"] > 50
    df["share"] = df["net"] / (df["n"] + 1)
    return df[df["n"] % 5 != 0]


def _pipeline(app: App, source: str, out: str) -> StreamingDataFrame:
    sdf = app.dataframe(app.topic(source))
    sdf = sdf[sdf["amount"].is_not_null()]
    sdf["net"] = (sdf["amount"] * 0.8).round(2)
    sdf = sdf.filter(lambda v: v["country"] != "XX")
    sdf = sdf.apply(_label)
    sdf = sdf.map_batches(_features)
    sdf = sdf.set_key(sdf["label"])
    return sdf.to_topic(app.topic(out))


def _normal(value: Any) -> Any:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Number):
        number = float(value)  # type: ignore[arg-type]
        return None if math.isnan(number) else round(number, 9)
    return value


def _record(key: Any, ts: int, value: dict[str, Any]) -> Record:
    return (key, int(ts), tuple(sorted((k, _normal(v)) for k, v in value.items())))


def test_local_test_matches_the_live_run(
    bootstrap: str, make_topic: Callable[..., str], unique: Callable[[str], str]
) -> None:
    source = make_topic("parity-in")
    out = unique("parity-out")
    values = _inputs(120)
    keys = [f"k{i % 7}" for i in range(len(values))]
    stamps = [1_700_000_000_000 + 10 * i for i in range(len(values))]
    produce_records(
        bootstrap,
        source,
        [
            (k.encode(), v if isinstance(v, bytes) else orjson.dumps(v), ts, None)
            for k, v, ts in zip(keys, values, stamps, strict=True)
        ],
    )

    # Small live batches, so the live run crosses batch boundaries the local run does not.
    app = App(
        unique("parity-app"),
        bootstrap,
        consumer_config=FAST_GROUP,
        commit_interval=0.5,
        max_batch_records=16,
    )
    sdf = _pipeline(app, source, out)
    local = sdf.test(values, keys=keys, timestamps=stamps)
    expected = Counter(
        _record(row.pop("_key"), row.pop("_timestamp"), row)
        for row in local.to_dict(orient="records")
    )
    local_dead = sorted(local.attrs["dead_letters"]["offset"].tolist())
    assert local_dead == [17, 41]  # the oracle itself is not empty or trivial
    assert 40 < sum(expected.values()) < 120

    with running(app):
        wait_for_records(bootstrap, out, sum(expected.values()))
        dead = wait_for_records(bootstrap, f"{app.name}.dlq", 2)
    got = read_topic(bootstrap, out)  # after the stop: nothing more arrives
    live = Counter(
        _record(m.key().decode(), m.timestamp()[1], orjson.loads(m.value())) for m in got
    )
    assert live == expected
    live_dead = sorted(int(dict(m.headers())["headwater.origin.offset"]) for m in dead)
    assert live_dead == local_dead


def test_a_pass_through_keeps_each_value_type_in_a_mixed_batch(
    unique: Callable[[str], str],
) -> None:
    app = App(unique("mixed"), "localhost:1")
    sdf = app.dataframe(app.topic("mixed-in"))
    sdf.to_topic(app.topic("mixed-out"))
    result = sdf.test([{"a": 1}, {"a": "x"}])
    assert result["a"].tolist() == [1, "x"]
