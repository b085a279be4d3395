"""Edits of ``headwater.yaml`` as pure functions: text in, text out.

The pipeline canvas changes a project through these: add an app, remove one, connect an app to a
topic, change its resources. The YAML is edited round-trip (ruamel.yaml), so the user's
comments, key order and flow style (``inputs: [a, b]``) survive every edit, and the result is
validated like any other manifest before anyone commits it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from headwater.platform.errors import Conflict, Invalid, NotFound
from headwater.platform.projects.manifest import MANIFEST_FILE, AppSpec, parse_manifest

Direction = Literal["inputs", "outputs"]
# The fields in the order the docs and the templates write them.
FIELD_ORDER = ("name", "entrypoint", "inputs", "outputs", "replicas", "cpu", "memory", "env")
NEW_MANIFEST = "# The apps of this project; the platform deploys each one.\napps: []\n"


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, order and styles are kept
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    yaml.preserve_quotes = True
    return yaml


def _load(text: str | None) -> CommentedMap:
    try:
        data = _yaml().load(text if text is not None else NEW_MANIFEST)
    except YAMLError as exc:
        message = f"{MANIFEST_FILE} is not valid YAML: fix it in the editor first ({exc})"
        raise Invalid(message, [{"field": MANIFEST_FILE, "message": message}]) from None
    if not isinstance(data, CommentedMap) or not isinstance(data.get("apps", []), list):
        message = f"{MANIFEST_FILE} must be a mapping with an `apps:` list; fix it in the editor"
        raise Invalid(message, [{"field": MANIFEST_FILE, "message": message}])
    if "apps" not in data:
        data["apps"] = CommentedSeq()
    return data


def _dump(data: CommentedMap) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def _apps(data: CommentedMap) -> list[Any]:
    apps: list[Any] = data["apps"]
    return apps


def _entry(data: CommentedMap, app: str) -> CommentedMap:
    for entry in _apps(data):
        if isinstance(entry, dict) and entry.get("name") == app:
            assert isinstance(entry, CommentedMap)
            return entry
    names = ", ".join(str(e.get("name")) for e in _apps(data) if isinstance(e, dict)) or "none"
    message = f"no app {app!r} in {MANIFEST_FILE}; its apps: {names}"
    raise NotFound(message, [{"field": "app", "message": message}])


def _flow(items: list[str]) -> CommentedSeq:
    """A list written on one line, ``[a, b]``, as the templates write topics."""
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _edit(text: str | None, change: Callable[[CommentedMap], None]) -> str:
    data = _load(text)
    change(data)
    result = _dump(data)
    parse_manifest(result)  # an edit never leaves an invalid manifest behind
    return result


def add_app(text: str | None, spec: AppSpec) -> str:
    """``text`` with ``spec`` appended to its apps (``text`` None: a new manifest)."""

    def change(data: CommentedMap) -> None:
        if any(isinstance(e, dict) and e.get("name") == spec.name for e in _apps(data)):
            message = f"an app named {spec.name!r} is in {MANIFEST_FILE} already; pick another"
            raise Conflict(message, [{"field": "name", "message": message}])
        values = spec.model_dump()
        entry = CommentedMap()
        for key in FIELD_ORDER:
            value = values[key]
            if key in ("inputs", "outputs"):
                entry[key] = _flow(list(value))
            elif key == "env":
                if value:
                    entry[key] = CommentedMap(value)
            else:
                entry[key] = value
        if values["secrets"]:
            entry["secrets"] = CommentedMap(values["secrets"])
        _apps(data).append(entry)

    return _edit(text, change)


def remove_app(text: str, app: str) -> str | None:
    """``text`` without ``app``'s entry; None if it was the only app (a manifest lists one at
    least, so the file goes)."""
    data = _load(text)
    entry = _entry(data, app)
    if len(_apps(data)) == 1:
        return None
    _apps(data).remove(entry)
    result = _dump(data)
    parse_manifest(result)
    return result


def connect(text: str, app: str, direction: Direction, topic: str) -> str:
    """``text`` with ``topic`` added to ``app``'s inputs or outputs."""

    def change(data: CommentedMap) -> None:
        entry = _entry(data, app)
        topics = entry.get(direction)
        if topics is None:
            entry[direction] = topics = _flow([])
        if topic in topics:
            message = f"{app!r} already lists {topic!r} in its {direction}"
            raise Conflict(message, [{"field": "topic", "message": message}])
        topics.append(topic)

    return _edit(text, change)


def disconnect(text: str, app: str, direction: Direction, topic: str) -> str:
    """``text`` with ``topic`` taken out of ``app``'s inputs or outputs."""

    def change(data: CommentedMap) -> None:
        topics = _entry(data, app).get(direction) or []
        if topic not in topics:
            message = f"{app!r} has no {topic!r} in its {direction}"
            raise NotFound(message, [{"field": "topic", "message": message}])
        topics.remove(topic)

    return _edit(text, change)


def set_fields(text: str, app: str, values: dict[str, Any]) -> str:
    """``text`` with ``app``'s fields (replicas, cpu, memory, env, secrets) set to ``values``;
    an empty env or secrets mapping removes the key."""

    def change(data: CommentedMap) -> None:
        entry = _entry(data, app)
        for key, value in values.items():
            if key in ("env", "secrets") and not value:
                entry.pop(key, None)
            elif key in ("env", "secrets"):
                entry[key] = CommentedMap(value)
            else:
                entry[key] = value

    return _edit(text, change)
