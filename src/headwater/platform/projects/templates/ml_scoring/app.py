"""ML scoring: score every transaction with a logistic model, batch by batch, in pandas.

The model's weights live in model.json next to this file; `score` is the same function you
would write in a notebook. Try it:

    app.test({"{{ transactions }}": [{"amount": 900.0, "hour": 3}]}).outputs["{{ scores }}"]
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from headwater import App

MODEL = json.loads((Path(__file__).resolve().parent / "model.json").read_text())

# The app's name is its consumer group and names its dead-letter topic ({{ project }}.dlq).
app = App("{{ project }}")
transactions = app.topic("{{ transactions }}", value="json")
scores = app.topic("{{ scores }}", value="json")


def score(df: pd.DataFrame) -> pd.DataFrame:
    logit = pd.Series(MODEL["intercept"], index=df.index, dtype="float64")
    for feature, weight in MODEL["weights"].items():
        logit += weight * df[feature].astype("float64").fillna(0.0)
    df["score"] = 1.0 / (1.0 + np.exp(-logit))
    df["flagged"] = df["score"] >= MODEL["threshold"]
    return df


sdf = app.dataframe(transactions)
sdf = sdf.map_batches(score, format="pandas")
sdf.to_topic(scores)

if __name__ == "__main__":
    app.run()
