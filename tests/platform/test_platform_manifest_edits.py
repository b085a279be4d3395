"""headwater.yaml edits as pure functions: comments and order kept, results valid, mistakes
named by field."""

from __future__ import annotations

import pytest

from headwater.platform.errors import Conflict, Invalid, NotFound
from headwater.platform.projects.manifest import AppSpec, parse_manifest
from headwater.platform.projects.manifest_edits import (
    add_app,
    connect,
    disconnect,
    remove_app,
    set_fields,
)

TEXT = """# The apps of this project; the platform deploys each one.
apps:
  - name: scorer   # scores each transaction
    entrypoint: app.py
    inputs: [transactions]
    outputs: [scores]
    replicas: 1
    cpu: 1
    memory: 512Mi
"""
ENRICH = AppSpec(name="enrich", entrypoint="enrich.py", inputs=["payments"], outputs=["tx"])


def test_adding_an_app_keeps_comments_order_and_flow_style() -> None:
    text = add_app(TEXT, ENRICH)
    assert text.startswith(TEXT), "the user's lines, comments included, are untouched"
    added = text[len(TEXT) :]
    assert "inputs: [payments]" in added and "outputs: [tx]" in added
    assert added.index("name:") < added.index("entrypoint:") < added.index("replicas:")
    apps = parse_manifest(text).apps
    assert [a.name for a in apps] == ["scorer", "enrich"]
    assert (apps[1].replicas, apps[1].cpu, apps[1].memory) == (1, 0.5, "256Mi")


def test_adding_to_no_manifest_starts_one() -> None:
    text = add_app(None, ENRICH)
    assert [a.name for a in parse_manifest(text).apps] == ["enrich"]


def test_adding_an_app_twice_is_a_conflict_naming_the_field() -> None:
    with pytest.raises(Conflict) as caught:
        add_app(add_app(TEXT, ENRICH), ENRICH)
    assert caught.value.errors[0]["field"] == "name"


def test_connecting_and_disconnecting_topics() -> None:
    text = connect(TEXT, "scorer", "inputs", "more-transactions")
    assert "inputs: [transactions, more-transactions]" in text
    assert "# scores each transaction" in text
    assert parse_manifest(text).apps[0].inputs == ["transactions", "more-transactions"]
    text = connect(text, "scorer", "outputs", "alerts")
    assert parse_manifest(text).apps[0].outputs == ["scores", "alerts"]
    back = disconnect(
        disconnect(text, "scorer", "outputs", "alerts"), "scorer", "inputs", "more-transactions"
    )
    assert back == TEXT
    with pytest.raises(Conflict):
        connect(TEXT, "scorer", "inputs", "transactions")
    with pytest.raises(NotFound) as missing:
        disconnect(TEXT, "scorer", "outputs", "nothing")
    assert missing.value.errors[0]["field"] == "topic"


def test_a_source_cannot_lose_its_last_output() -> None:
    source = TEXT.replace("inputs: [transactions]", "inputs: []")
    with pytest.raises(Invalid) as caught:
        disconnect(source, "scorer", "outputs", "scores")
    assert caught.value.errors[0]["field"] == "apps[0].outputs"


def test_setting_resources_env_and_secrets() -> None:
    text = set_fields(TEXT, "scorer", {"replicas": 2, "memory": "300Mi", "env": {"LEVEL": "debug"}})
    app = parse_manifest(text).apps[0]
    assert (app.replicas, app.cpu, app.memory, app.env) == (2, 1, "300Mi", {"LEVEL": "debug"})
    assert "# scores each transaction" in text
    cleared = set_fields(text, "scorer", {"env": {}, "secrets": {"DB": "db-password"}})
    app = parse_manifest(cleared).apps[0]
    assert (app.env, app.secrets) == ({}, {"DB": "db-password"})
    assert "env:" not in cleared
    with pytest.raises(Invalid) as caught:
        set_fields(TEXT, "scorer", {"memory": "3 GB"})
    assert caught.value.errors[0]["field"] == "apps[0].memory"


def test_removing_an_app_and_the_last_one() -> None:
    both = add_app(TEXT, ENRICH)
    assert remove_app(both, "enrich") == TEXT
    assert remove_app(TEXT, "scorer") is None, "no app left: the manifest goes"
    with pytest.raises(NotFound) as caught:
        remove_app(TEXT, "ghost")
    assert "its apps: scorer" in caught.value.message


def test_a_broken_manifest_is_refused_with_its_name() -> None:
    with pytest.raises(Invalid) as caught:
        add_app("apps: [", ENRICH)
    assert caught.value.errors[0]["field"] == "headwater.yaml"
