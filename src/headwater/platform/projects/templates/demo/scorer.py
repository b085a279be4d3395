"""Scorer: scores each customer's window features with a logistic model, batch by batch.

The weights live in model.json next to this file; `score` is the function you would write
in a notebook. Try it:

    app.test({"{{ features }}": [{"customer_id": "c1", "orders": 9, "spend": 900.0}]})
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from headwater import App

MODEL = json.loads((Path(__file__).resolve().parent / "model.json").read_text())

app = App(
    "{{ project }}-scorer",
    consumer_config={"session.timeout.ms": 6000, "heartbeat.interval.ms": 500},
)
features = app.topic("{{ features }}", key="str", value="json", partitions=3)
scores = app.topic("{{ scores }}", key="str", value="json", partitions=3)


def score(df: pd.DataFrame) -> pd.DataFrame:
    logit = pd.Series(MODEL["intercept"], index=df.index, dtype="float64")
    for feature, weight in MODEL["weights"].items():
        logit += weight * df[feature].astype("float64").fillna(0.0)
    df["score"] = 1.0 / (1.0 + np.exp(-logit))
    df["flagged"] = df["score"] >= MODEL["threshold"]
    return df


sdf = app.dataframe(features)
sdf = sdf.map_batches(score, format="pandas")
sdf.to_topic(scores)

if __name__ == "__main__":
    app.run()
