"""A pandas oracle for running aggregates, shared by the local and the live tests."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd

from headwater import agg

AGGS = {
    "n": agg.count(),
    "n_amount": agg.count("amount"),
    "total": agg.sum("amount"),
    "avg": agg.mean("amount"),
    "lo": agg.min("amount"),
    "hi": agg.max("amount"),
    "last_sku": agg.last("sku"),
}


def random_orders(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    customers = [f"c{i}" for i in range(12)]
    orders = []
    for _ in range(n):
        # Even seeds give whole numbers: the state then holds ints, odd seeds floats.
        amount: float | None = rng.randint(-50, 500) if seed % 2 == 0 else rng.uniform(-50, 500)
        if rng.random() < 0.2:
            amount = None
        sku = rng.choice(["apple", "pear", "plum", None])
        orders.append({"customer": rng.choice(customers), "amount": amount, "sku": sku})
    return orders


def oracle(orders: list[dict[str, Any]], by: str | list[str] = "customer") -> pd.DataFrame:
    """Running aggregates per group by pandas: what every record's output must hold."""
    df = pd.DataFrame(orders).astype({"amount": "float64"})
    grouped = df.groupby(by, sort=False)
    amount = grouped["amount"]
    out = df[[by] if isinstance(by, str) else by].copy()
    out["n"] = grouped.cumcount() + 1
    out["n_amount"] = amount.transform(lambda s: s.notna().cumsum())
    out["total"] = amount.transform(lambda s: s.fillna(0).cumsum())
    out["avg"] = amount.transform(lambda s: s.expanding().mean())
    out["lo"] = amount.transform(lambda s: s.expanding().min())
    out["hi"] = amount.transform(lambda s: s.expanding().max())
    out["last_sku"] = grouped["sku"].transform(lambda s: s.ffill())
    return out


def assert_matches(result: pd.DataFrame, expected: pd.DataFrame) -> None:
    """``result`` rows (identified by their timestamp = input position) equal the oracle's."""
    result = result.sort_values("_timestamp").reset_index(drop=True)
    assert result["_timestamp"].tolist() == list(range(len(expected)))
    assert result["n"].tolist() == expected["n"].tolist()
    assert result["n_amount"].tolist() == expected["n_amount"].tolist()
    for column in ("total", "avg", "lo", "hi"):
        np.testing.assert_allclose(
            result[column].astype("float64").to_numpy(),
            expected[column].to_numpy(),
            rtol=1e-9,
            equal_nan=True,
            err_msg=column,
        )
    got = result["last_sku"].where(result["last_sku"].notna(), None).tolist()
    assert got == expected["last_sku"].where(expected["last_sku"].notna(), None).tolist()
