"""The pipeline canvas edits a project (headless Chromium against a live server and the test
broker): a three-step pipeline built on an empty canvas, each edit a commit shown as its diff
first, deployed with records on every edge, resized and cut back from the canvas."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from browser_helpers import START_TIMEOUT_MS, WIDE_VIEWPORT, Problems, go_to, log_in, shot
from kafka_helpers import wait_until
from platform_server import ADMIN_PASSWORD, LiveServer
from playwright.sync_api import Browser, Locator, Page, expect

# An existing model app: it scores each payment and, like the apps the canvas makes, reads its
# topics from its own entry in headwater.yaml.
SCORE = '''"""Scores each payment with a logistic model (its weights in model.json)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from headwater import App

HERE = Path(__file__).resolve().parent
MODEL = json.loads((HERE / "model.json").read_text())
ENTRY = next(a for a in yaml.safe_load((HERE / "headwater.yaml").read_text())["apps"]
             if a["name"] == "score")

app = App({group!r})


def score(df: pd.DataFrame) -> pd.DataFrame:
    logit = MODEL["intercept"] + MODEL["weight"] * df["amount"].astype("float64")
    df["score"] = 1.0 / (1.0 + np.exp(-logit))
    return df


outputs = [app.topic(name) for name in ENTRY["outputs"]]
for name in ENTRY["inputs"]:
    sdf = app.dataframe(app.topic(name)).map_batches(score, format="pandas")
    for topic in outputs:
        sdf.to_topic(topic)
'''
CELL = """def transform(df: pd.DataFrame) -> pd.DataFrame:
    df["amount"] = df["cents"] / 100
    return df
"""
FLOWING = re.compile(r" · (?!0 msg/s)[\d.]+[kKM]? msg/s$")


def project_with_a_model(live: LiveServer, name: str) -> None:
    """An empty project holding the code of a model app, but no headwater.yaml yet."""
    with live.client("editor") as editor:
        assert editor.post("/api/projects", json={"name": name}).status_code == 201
        files = {
            "score.py": SCORE.format(group=f"{name}-score"),
            "model.json": '{"intercept": -2.0, "weight": 0.01}\n',
        }
        for path, content in files.items():
            written = editor.put(f"/api/projects/{name}/files/{path}", json={"content": content})
            assert written.status_code == 200, written.text
        made = editor.post(f"/api/projects/{name}/commits", json={"message": "A scoring model"})
        assert made.status_code == 201, made.text


def head(live: LiveServer, project: str) -> dict[str, Any]:
    with live.client("viewer") as viewer:
        commits: list[dict[str, Any]] = viewer.get(f"/api/projects/{project}/commits").json()
        return commits[0]


def manifest(live: LiveServer, project: str) -> dict[str, Any] | None:
    with live.client("viewer") as viewer:
        response = viewer.get(f"/api/projects/{project}/manifest", params={"ref": "HEAD"})
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


def deployments(live: LiveServer, project: str) -> dict[str, dict[str, Any]]:
    with live.client("viewer") as viewer:
        listed = viewer.get(f"/api/projects/{project}/deployments").json()
        return {d["app"]: d for d in listed}


def edit_menu(page: Page, node: Locator, title: str, item: str) -> None:
    node.get_by_role("button", name=f"Edit {title}").click()
    page.get_by_role("menu", name=f"Edit {title}").get_by_role("menuitem", name=item).click()


def confirm(page: Page, title: str, shows: list[str], screenshot: str) -> Locator:
    """The diff of the edit is shown before it is committed; commit it."""
    dialog = page.get_by_role("dialog", name=f"Confirm: {title}")
    diff = dialog.get_by_test_id("canvas-diff")
    for text in shows:
        expect(diff).to_contain_text(text)
    shot(page, screenshot)
    dialog.get_by_role("button", name="Commit", exact=True).click()
    expect(dialog).to_be_hidden()
    return diff


def test_build_deploy_resize_and_cut_a_pipeline_on_the_canvas(
    browser: Browser, web: LiveServer, produce: Callable[..., None]
) -> None:
    token = uuid.uuid4().hex[:6]
    project = f"canvas-{token}"
    payments, enriched, scores = f"payments-{token}", f"enriched-{token}", f"scores-{token}"
    project_with_a_model(web, project)
    context = browser.new_context(viewport=WIDE_VIEWPORT, base_url=web.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems = Problems(page)
    try:
        log_in(page, "admin", ADMIN_PASSWORD)
        go_to(page, "Pipeline")
        page.get_by_label("Edit project").select_option(project)
        expect(page.get_by_text("An empty canvas")).to_be_visible()
        shot(page, "40-canvas-empty")

        # 1. From the source topic (new), a new app made from a code cell, writing a new topic.
        page.get_by_role("button", name="Add step", exact=True).click()
        form = page.get_by_role("dialog", name="Add a step")
        form.get_by_label("Step name").fill("enrich")
        form.get_by_label("Reads", exact=True).fill(payments)
        form.get_by_label("Writes", exact=True).fill(enriched)
        expect(form.get_by_test_id("new-topics")).to_contain_text(f"{payments}, {enriched}")
        form.get_by_role("textbox", name="Code cell").fill(CELL)
        form.get_by_role("button", name="Show the change").click()
        confirm(
            page,
            "Add a step",
            [
                "headwater.yaml",
                "enrich.py",
                "+  - name: enrich",
                'df["amount"] = df["cents"] / 100',
            ],
            "41-canvas-add-step-diff",
        )
        enrich = page.locator(f'[data-node="app:{project}/enrich"]')
        expect(enrich).to_contain_text("not_deployed")
        assert head(web, project)["message"] == f"Canvas: add step enrich reading {payments}"

        # The handles drag too: a topic's handle pulled onto the empty pane adds a step from it.
        handle = (
            page.locator(f'[data-node="producer:{payments}"]')
            .locator("..")
            .locator(".react-flow__handle.source")
        )
        start = handle.bounding_box()
        assert start is not None
        page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
        page.mouse.down()
        page.mouse.move(start["x"] + 60, start["y"] + 220, steps=8)
        page.mouse.up()
        dragged = page.get_by_role("dialog", name="Add a step")
        expect(dragged.get_by_label("Reads", exact=True)).to_have_value(payments)
        dragged.get_by_role("button", name="Cancel").click()
        expect(dragged).to_be_hidden()

        # 2. After it, the existing model app (a file of the project), writing the output topic.
        sink = page.locator(f'[data-node="sink:{enriched}"]')
        edit_menu(page, sink, enriched, f"Add step reading {enriched}")
        form = page.get_by_role("dialog", name="Add a step")
        expect(form.get_by_label("Reads", exact=True)).to_have_value(enriched)
        form.get_by_label("Step name").fill("score")
        form.get_by_label("Writes", exact=True).fill(scores)
        form.get_by_label("Code from").select_option("file")
        form.get_by_role("combobox", name=re.compile(r"^File")).select_option("score.py")
        form.get_by_role("button", name="Show the change").click()
        diff = confirm(
            page, "Add a step", ["+  - name: score", "+    entrypoint: score.py"], "42-canvas-model"
        )
        expect(diff).to_have_count(0)
        score = page.locator(f'[data-node="app:{project}/score"]')
        expect(score).to_be_visible()
        assert head(web, project)["message"] == f"Canvas: add step score reading {enriched}"
        shot(page, "43-canvas-three-steps")

        # Deploy both from their nodes; records flow on every edge.
        edit_menu(page, enrich, "enrich", "Deploy")
        expect(enrich).to_have_count(0)
        edit_menu(page, score, "score", "Deploy")
        deployed = wait_until(lambda: len(deployments(web, project)) == 2 or None, timeout=20)
        assert deployed
        ids = {app: d["id"] for app, d in deployments(web, project).items()}
        on_enrich, on_score = f"deployment:{ids['enrich']}", f"deployment:{ids['score']}"
        edges = [
            page.locator(f'[data-topic="{payments}"][data-target="{on_enrich}"]'),
            page.locator(
                f'[data-topic="{enriched}"][data-source="{on_enrich}"][data-target="{on_score}"]'
            ),
            page.locator(f'[data-topic="{scores}"][data-source="{on_score}"]'),
        ]
        cents = iter(range(100, 10**9, 7))
        deadline = time.monotonic() + START_TIMEOUT_MS / 1000 + 60
        while True:
            produce(payments, [(b"k", orjson.dumps({"cents": next(cents)})) for _ in range(20)])
            try:
                for edge in edges:
                    expect(edge).to_have_text(FLOWING, timeout=2_000)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        shot(page, "44-canvas-flowing")

        # Two replicas of 300Mi for the model app: a headwater.yaml commit, then a redeploy.
        score = page.locator(f'[data-node="{on_score}"]')
        edit_menu(page, score, "score", "Resources and environment…")
        settings = page.get_by_role("dialog", name="score: resources and environment")
        settings.get_by_label("Replicas").fill("2")
        settings.get_by_label("Memory per replica").fill("300Mi")
        settings.get_by_role("button", name="Show the change").click()
        confirm(
            page,
            "Change score",
            ["+    replicas: 2", "+    memory: 300Mi", "redeployed at the new commit"],
            "45-canvas-resources-diff",
        )
        expect(score).to_contain_text("2/2 replicas", timeout=START_TIMEOUT_MS)
        entry = next(a for a in (manifest(web, project) or {})["apps"] if a["name"] == "score")
        assert (entry["replicas"], entry["memory"]) == (2, "300Mi")
        running = deployments(web, project)["score"]
        assert (running["replicas"], running["memory"]) == (2, "300Mi")
        assert running["commit"] == head(web, project)["id"]

        # Remove the model step: confirmed with its diff, stopped, gone from headwater.yaml.
        edit_menu(page, score, "score", "Remove step…")
        confirm(
            page,
            "remove step score",
            ["-  - name: score", "stopped and deleted"],
            "46-canvas-remove-diff",
        )
        expect(score).to_have_count(0)
        assert "score" not in deployments(web, project)
        assert wait_until(lambda: not web.context.supervisor.replicas(ids["score"]), timeout=30)
        left = manifest(web, project)
        assert left is not None and [a["name"] for a in left["apps"]] == ["enrich"]
        assert head(web, project)["message"] == "Canvas: remove step score"
        shot(page, "47-canvas-removed")
        assert not problems.found, problems.found
    finally:
        with web.client("admin") as admin:
            for deployment in deployments(web, project).values():
                admin.delete(f"/api/deployments/{deployment['id']}")
        context.close()
