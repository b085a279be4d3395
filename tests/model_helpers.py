"""Models to upload and the upload call, shared by the registry tests."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import joblib
import numpy as np
import pandas as pd
from platform_server import LiveServer
from sklearn.linear_model import LogisticRegression


def fraud_model(folder: Path, flip: bool = False) -> Path:
    """A classifier of amount and night, fitted on a DataFrame (so it knows its features)."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"amount": rng.lognormal(3, 1, 300), "night": rng.integers(0, 2, 300)})
    fraud = (frame["amount"] > 40) & (frame["night"] == 1)
    target = (~fraud if flip else fraud).astype(int)
    path = folder / ("fraud-flipped.joblib" if flip else "fraud.joblib")
    joblib.dump(LogisticRegression(max_iter=500).fit(frame, target), path)
    return path


def upload(
    client: httpx.Client, project: str, name: str, data: bytes, **params: str
) -> httpx.Response:
    return client.post(
        f"/api/projects/{project}/models/{name}/versions",
        content=data,
        params=params,
        headers={"Content-Type": "application/octet-stream"},
    )


def new_project(live: LiveServer) -> str:
    project = f"m-{uuid.uuid4().hex[:6]}"
    with live.client("editor") as editor:
        assert editor.post("/api/projects", json={"name": project}).status_code == 201
    return project


# A deployable app scoring payments with the registry's production version of "fraud", and its
# manifest (format them with the group and topics).
SCORER_APP = """
from headwater import App

fast = {{"session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "max.poll.interval.ms": 10000}}
app = App({group!r}, consumer_config=fast, guarantee="exactly-once")
payments = app.dataframe(app.topic({payments!r}, value="json"))
scored = payments.predict("models:/fraud@production")
scored.to_topic(app.topic({scores!r}, value="json"))
"""
SCORER_MANIFEST = """apps:
  - name: scorer
    entrypoint: app.py
    inputs: [{payments}]
    outputs: [{scores}]
    replicas: 1
    cpu: 1
    memory: 1Gi
"""
