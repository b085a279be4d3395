"""The lookup step: records meet their key's row from an external store, a batch at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence

import pandas as pd
import psycopg
import pytest
from service_helpers import POSTGRES_URL

from headwater import App, ConfigError
from headwater.lookup import FunctionStore, Key, LookupPolicy, PostgresStore, Row

PROFILES = {"c1": {"tier": "gold", "limit": 500}, "c2": {"tier": "silver", "limit": 100}}


class Recorder:
    """A store that remembers the keys of each request, and can be made to fail."""

    def __init__(self) -> None:
        self.requests: list[list[Key]] = []
        self.down = False

    def __call__(self, keys: Sequence[Key]) -> Mapping[Key, Row]:
        self.requests.append(list(keys))
        if self.down:
            raise ConnectionError("store unreachable")
        return {k: PROFILES[k] for k in keys if k in PROFILES}


def texts(column: pd.Series) -> list[str | None]:
    """A text column's values, a missing one (NaN or None in pandas) as None."""
    return [v if isinstance(v, str) else None for v in column.tolist()]


ORDERS = [
    {"order": "o1", "customer": "c1", "amount": 30},
    {"order": "o2", "customer": "c9", "amount": 5},
    {"order": "o3", "customer": "c1", "amount": 70},
    {"order": "o4", "customer": "c2", "amount": 12},
]


def test_records_meet_their_rows_in_one_request_per_batch() -> None:
    recorder = Recorder()
    app = App("enrich")
    orders = app.dataframe(app.topic("orders"))
    enriched = orders.lookup(FunctionStore(recorder, name="profiles"), on="customer", prefix="p_")
    out = enriched.test(ORDERS)
    assert out["order"].tolist() == ["o1", "o2", "o3", "o4"]  # order kept, c9 with nulls
    assert texts(out["p_tier"]) == ["gold", None, "gold", "silver"]
    assert recorder.requests == [["c1", "c9", "c2"]]


def test_inner_drops_records_without_a_row_and_fields_pick_columns() -> None:
    app = App("enrich")
    orders = app.dataframe(app.topic("orders"))
    store = FunctionStore(Recorder())
    out = orders.lookup(store, on="customer", fields=["limit"], how="inner").test(ORDERS)
    assert out["order"].tolist() == ["o1", "o3", "o4"]
    assert "tier" not in out.columns and out["limit"].tolist() == [500, 500, 100]


def test_a_store_that_keeps_failing_sends_the_batch_to_the_dead_letters() -> None:
    recorder = Recorder()
    recorder.down = True
    app = App("enrich")
    policy = LookupPolicy(retries=1, backoff=0)
    out = (
        app.dataframe(app.topic("orders"))
        .lookup(FunctionStore(recorder, name="profiles"), on="customer", policy=policy)
        .test(ORDERS)
    )
    assert len(out) == 0
    dead = out.attrs["dead_letters"]
    assert len(dead) == 4
    assert dead["reason"].str.contains("profiles failed 2 times.*store unreachable").all()
    assert len(recorder.requests) == 2  # the batch's keys once, retried once: not per record


def test_stop_on_failure_stops_with_the_reason() -> None:
    recorder = Recorder()
    recorder.down = True
    app = App("enrich", on_error="raise")
    sdf = app.dataframe(app.topic("orders")).lookup(
        FunctionStore(recorder),
        on="customer",
        on_failure="stop",
        policy=LookupPolicy(retries=0),
    )
    with pytest.raises(Exception, match="on_failure='stop'"):
        sdf.test(ORDERS)


def test_the_plan_keeps_the_store_by_reference_and_the_policy_as_json() -> None:
    app = App("enrich")
    store = FunctionStore(Recorder(), name="profiles")
    app.dataframe(app.topic("orders")).lookup(
        store, on="customer", policy=LookupPolicy(cache_ttl=5)
    ).to_topic(app.topic("enriched"))
    plan = app.plan()
    doc = json.loads(json.dumps(plan.to_json()))
    step = next(s for s in doc["steps"] if s["kind"] == "lookup")
    assert step["params"]["policy"]["cache_ttl"] == 5
    assert plan.callables.entries()[step["params"]["store"]["callable"]] is store


def test_bad_arguments_name_the_fix() -> None:
    app = App("enrich")
    sdf = app.dataframe(app.topic("orders"))
    with pytest.raises(ConfigError, match="FunctionStore"):
        sdf.lookup({"c1": 1}, on="customer")
    with pytest.raises(ConfigError, match="how='outer'"):
        sdf.lookup(FunctionStore(Recorder()), on="customer", how="outer")  # type: ignore[arg-type]


@pytest.fixture
def customers() -> Iterator[str]:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS lookup_step_customers (id text PRIMARY KEY, tier text)"
        )
        db.execute("DELETE FROM lookup_step_customers")
        db.execute("INSERT INTO lookup_step_customers VALUES ('c1', 'gold'), ('c2', 'silver')")
        try:
            yield "lookup_step_customers"
        finally:
            db.execute("DROP TABLE lookup_step_customers")


def test_a_postgresql_table_as_the_store(customers: str) -> None:
    app = App("enrich")
    store = PostgresStore(POSTGRES_URL, customers, key="id", columns=["tier"])
    out = (
        app.dataframe(app.topic("orders"))
        .lookup(store, on="customer", fields=["tier"])
        .test(ORDERS)
    )
    assert texts(out["tier"]) == ["gold", None, "gold", "silver"]
    store.close()
