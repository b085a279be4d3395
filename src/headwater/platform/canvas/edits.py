"""Canvas edits and the file changes each one makes, planned against one commit's files.

``plan_edit`` is pure: the files of the base commit in, the files to write (None: delete) and a
commit message out. The API shows the diff of that plan and commits exactly it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from headwater.platform.canvas.code import DEFAULT_CELL, cell_app
from headwater.platform.errors import Conflict, Invalid, NotFound
from headwater.platform.projects.manifest import (
    APP_NAME,
    MANIFEST_FILE,
    MAX_CPU,
    MAX_REPLICAS,
    MEMORY,
    MEMORY_HELP,
    MIN_CPU,
    AppSpec,
    TopicName,
    check_env_names,
    check_secret_refs,
    parse_manifest,
)
from headwater.platform.projects.manifest_edits import (
    Direction,
    add_app,
    connect,
    disconnect,
    remove_app,
    set_fields,
)
from headwater.platform.projects.templates import template, template_files

Files = dict[str, bytes]


class _Edit(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddStep(_Edit):
    """A new app reading ``inputs`` and writing ``outputs``, its code from a code cell, a
    template or a file the project has already."""

    kind: Literal["add_step"]
    name: str = Field(pattern=APP_NAME.pattern, description="the app's name in headwater.yaml")
    inputs: list[TopicName] = Field(min_length=1, description="topics it reads")
    outputs: list[TopicName] = Field(default_factory=list, description="topics it writes")
    source: Literal["cell", "template", "file"] = Field(
        default="cell",
        description="cell: `cell` in a small app; template: a template's app; file: `file`",
    )
    cell: str = Field(default=DEFAULT_CELL, max_length=100_000, description="defines transform")
    template: str | None = Field(default=None, description="a template with one input and output")
    file: str | None = Field(default=None, description="a .py file of the project: the app")


class Connect(_Edit):
    """``topic`` added to ``app``'s inputs or outputs."""

    kind: Literal["connect"]
    app: str = Field(pattern=APP_NAME.pattern)
    direction: Direction
    topic: TopicName


class Disconnect(_Edit):
    """``topic`` taken out of ``app``'s inputs or outputs."""

    kind: Literal["disconnect"]
    app: str = Field(pattern=APP_NAME.pattern)
    direction: Direction
    topic: TopicName


class RemoveStep(_Edit):
    """``app`` out of headwater.yaml, its entrypoint out of the tree (kept in the history)."""

    kind: Literal["remove_step"]
    app: str = Field(pattern=APP_NAME.pattern)


class SetResources(_Edit):
    """``app``'s replicas, CPU, memory, environment or secrets in headwater.yaml; a field
    left out keeps its value."""

    kind: Literal["resources"]
    app: str = Field(pattern=APP_NAME.pattern)
    replicas: int | None = Field(default=None, ge=1, le=MAX_REPLICAS, strict=True)
    cpu: float | None = Field(default=None, ge=MIN_CPU, le=MAX_CPU)
    memory: str | None = Field(
        default=None, pattern=MEMORY.pattern, description=f"memory per replica: {MEMORY_HELP}"
    )
    env: dict[str, str] | None = None
    secrets: dict[str, str] | None = Field(
        default=None, description="environment variable -> name of a platform secret"
    )

    _check_env = field_validator("env")(check_env_names)
    _check_secrets = field_validator("secrets")(check_secret_refs)

    def values(self) -> dict[str, Any]:
        fields = ("replicas", "cpu", "memory", "env", "secrets")
        return {name: getattr(self, name) for name in fields if getattr(self, name) is not None}


Edit = Annotated[
    AddStep | Connect | Disconnect | RemoveStep | SetResources, Field(discriminator="kind")
]


@dataclass(frozen=True)
class Plan:
    """What an edit writes (None: deletes) and says."""

    files: dict[str, bytes | None]
    message: str
    app: str


def plan_edit(project: str, files: Files, edit: Edit) -> Plan:
    """The file changes ``edit`` makes to ``files`` (the base commit's) of ``project``."""
    manifest = _text(files)
    if isinstance(edit, AddStep):
        return _add_step(project, files, manifest, edit)
    if manifest is None:
        message = f"the project has no {MANIFEST_FILE} yet: add a step first"
        raise NotFound(message, [{"field": "app", "message": message}])
    if isinstance(edit, Connect):
        text = connect(manifest, edit.app, edit.direction, edit.topic)
        verb = "reads" if edit.direction == "inputs" else "writes"
        return _manifest_plan(text, f"Canvas: {edit.app} {verb} {edit.topic}", edit.app)
    if isinstance(edit, Disconnect):
        text = disconnect(manifest, edit.app, edit.direction, edit.topic)
        verb = "no longer reads" if edit.direction == "inputs" else "no longer writes"
        return _manifest_plan(text, f"Canvas: {edit.app} {verb} {edit.topic}", edit.app)
    if isinstance(edit, RemoveStep):
        return _remove_step(files, manifest, edit)
    values = edit.values()
    if not values:
        message = "give at least one of replicas, cpu, memory, env or secrets"
        raise Invalid(message, [{"field": "edit", "message": message}])
    text = set_fields(manifest, edit.app, values)
    said = ", ".join(
        f"{k} {v}" if k not in ("env", "secrets") else f"{k} ({len(v)})" for k, v in values.items()
    )
    return _manifest_plan(text, f"Canvas: {edit.app} runs with {said}", edit.app)


def _text(files: Files) -> str | None:
    data = files.get(MANIFEST_FILE)
    return None if data is None else data.decode("utf-8")


def _manifest_plan(text: str, message: str, app: str) -> Plan:
    return Plan({MANIFEST_FILE: text.encode("utf-8")}, message, app)


def _add_step(project: str, files: Files, manifest: str | None, edit: AddStep) -> Plan:
    if manifest is not None:
        for app in parse_manifest(manifest).apps:
            if app.name == edit.name:
                message = f"an app named {edit.name!r} is in {MANIFEST_FILE} already"
                raise Conflict(message, [{"field": "edit.name", "message": message}])
    written: dict[str, bytes | None] = {}
    if edit.source == "cell":
        entrypoint = f"{edit.name}.py"
        written[entrypoint] = cell_app(project, edit.name, edit.cell)
    elif edit.source == "template":
        entrypoint, made = _template_step(project, edit)
        written.update(made)
    else:
        entrypoint = _existing_file(files, edit.file)
    for path in written:
        if path in files:
            message = f"{path} exists in the project already: name the step differently"
            raise Conflict(message, [{"field": "edit.name", "message": message}])
    spec = AppSpec(name=edit.name, entrypoint=entrypoint, inputs=edit.inputs, outputs=edit.outputs)
    written[MANIFEST_FILE] = add_app(manifest, spec).encode("utf-8")
    reads = ", ".join(edit.inputs)
    return Plan(written, f"Canvas: add step {edit.name} reading {reads}", edit.name)


def _template_step(project: str, edit: AddStep) -> tuple[str, dict[str, bytes | None]]:
    """A template's app in a folder of its own (its files may clash with others'), its topics
    the step's."""
    if edit.template is None:
        message = "give the template to make the step from"
        raise Invalid(message, [{"field": "edit.template", "message": message}])
    found = template(edit.template)
    slots = {role: [s for s in found.topics if s.role == role] for role in ("input", "output")}
    if len(slots["input"]) != 1 or len(slots["output"]) != 1:
        message = f"template {found.id!r} is not one step (one input, one output); pick another"
        raise Invalid(message, [{"field": "edit.template", "message": message}])
    if len(edit.inputs) != 1 or len(edit.outputs) != 1:
        message = "a step from a template reads one topic and writes one: give one of each"
        raise Invalid(message, [{"field": "edit.outputs", "message": message}])
    topics = {slots["input"][0].name: edit.inputs[0], slots["output"][0].name: edit.outputs[0]}
    rendered = template_files(found.id, f"{project}-{edit.name}", topics)
    made: dict[str, bytes | None] = {
        f"{edit.name}/{path}": data
        for path, data in rendered.items()
        if path not in (MANIFEST_FILE, "README.md")
    }
    return f"{edit.name}/app.py", made


def _existing_file(files: Files, path: str | None) -> str:
    if path is None or path not in files or not path.endswith(".py"):
        known = ", ".join(p for p in sorted(files) if p.endswith(".py")) or "none"
        message = f"{path!r} is not a .py file of the project; its files: {known}"
        raise Invalid(message, [{"field": "edit.file", "message": message}])
    return path


def _remove_step(files: Files, manifest: str, edit: RemoveStep) -> Plan:
    apps = parse_manifest(manifest).apps
    entry = next((a for a in apps if a.name == edit.app), None)
    if entry is None:
        names = ", ".join(a.name for a in apps)
        message = f"no app {edit.app!r} in {MANIFEST_FILE}; its apps: {names}"
        raise NotFound(message, [{"field": "edit.app", "message": message}])
    text = remove_app(manifest, edit.app)
    written: dict[str, bytes | None] = {
        MANIFEST_FILE: None if text is None else text.encode("utf-8")
    }
    # Its code leaves the tree (the history keeps it) unless another app runs it too; a
    # step's own folder (from a template) goes whole.
    if not any(a.entrypoint == entry.entrypoint for a in apps if a.name != edit.app):
        folder = f"{edit.app}/"
        if entry.entrypoint.startswith(folder):
            written.update({path: None for path in files if path.startswith(folder)})
        elif entry.entrypoint in files:
            written[entry.entrypoint] = None
    return Plan(written, f"Canvas: remove step {edit.app}", edit.app)
