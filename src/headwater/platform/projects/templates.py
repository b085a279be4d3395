"""Project templates: small complete Headwater apps with a headwater.yaml, in the package.

A template's text files hold placeholders that a new project fills in: ``{{ project }}`` (the
project's name, which names its apps, hence their consumer groups and dead-letter topics) and
one per topic the template reads or writes, e.g. ``{{ events }}``. So the topics a user picks
reach the code and headwater.yaml, and two projects made from one template share no app name,
group or dead-letter topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from headwater.platform.errors import Invalid
from headwater.platform.projects.manifest import TOPIC

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
PLACEHOLDER = re.compile(r"\{\{ ([a-z_]+) \}\}")
TEXT_SUFFIXES = (".py", ".yaml", ".yml", ".md", ".txt")


@dataclass(frozen=True)
class TopicSlot:
    """A topic a template's apps read or write; the user picks it when creating a project."""

    name: str  # the placeholder, e.g. ``events`` for ``{{ events }}``
    role: Literal["input", "output"]
    default: str  # a topic name; ``{project}`` stands for the project's name
    description: str

    def default_for(self, project: str) -> str:
        return self.default.format(project=project)


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    description: str
    topics: tuple[TopicSlot, ...] = ()

    @property
    def folder(self) -> Path:
        return TEMPLATES_DIR / self.id.replace("-", "_")


TEMPLATES = {
    t.id: t
    for t in (
        Template(
            "hello-stream",
            "Hello stream",
            "Read JSON events, add a field, write them on.",
            (
                TopicSlot("events", "input", "events", 'JSON events, e.g. {"name": "Ada"}'),
                TopicSlot("greetings", "output", "{project}-greetings", "the events, greeted"),
            ),
        ),
        Template(
            "windowed-features",
            "Windowed features",
            "Per-user features per minute (count, total, mean, max) in event-time windows.",
            (
                TopicSlot(
                    "purchases",
                    "input",
                    "purchases",
                    "purchases keyed by user: user, amount, ts (epoch ms)",
                ),
                TopicSlot("features", "output", "{project}-features", "per-user features"),
            ),
        ),
        Template(
            "ml-scoring",
            "ML scoring",
            "Score each batch of transactions with a model in pandas.",
            (
                TopicSlot("transactions", "input", "transactions", "transactions: amount, hour"),
                TopicSlot("scores", "output", "{project}-scores", "transactions with a score"),
            ),
        ),
        Template(
            "demo",
            "Live demo",
            "Three apps with data flowing at once: synthetic orders, per-customer windowed "
            "features and a scorer.",
            (
                # The events app writes the orders the features app reads: an output first.
                TopicSlot("orders", "output", "{project}-orders", "synthetic orders"),
                TopicSlot("features", "output", "{project}-features", "per-customer features"),
                TopicSlot("scores", "output", "{project}-scores", "scored customers"),
            ),
        ),
    )
}


def template(template_id: str) -> Template:
    found = TEMPLATES.get(template_id)
    if found is None:
        names = ", ".join(sorted(TEMPLATES))
        raise Invalid(
            f"unknown template {template_id!r}; use one of {names}",
            [{"field": "template", "message": f"one of {names}"}],
        )
    return found


def topic_names(
    template_id: str, project: str, chosen: dict[str, str] | None = None
) -> dict[str, str]:
    """Every topic slot of the template with its name: ``chosen`` or the default."""
    found = template(template_id)
    chosen = dict(chosen or {})
    slots = {slot.name: slot for slot in found.topics}
    for name, topic in chosen.items():
        if name not in slots:
            known = ", ".join(slots) or "none"
            message = f"template {template_id!r} has no topic {name!r}; its topics: {known}"
            raise Invalid(message, [{"field": f"topics.{name}", "message": message}])
        if not TOPIC.match(topic):
            message = f"{topic!r} is not a topic name: use 1-249 letters, digits, '.', '_' or '-'"
            raise Invalid(message, [{"field": f"topics.{name}", "message": message}])
    return {name: chosen.get(name) or slot.default_for(project) for name, slot in slots.items()}


def template_files(
    template_id: str, project: str | None = None, topics: dict[str, str] | None = None
) -> dict[str, bytes]:
    """The files of a template for ``project`` (the template's id if None), by path relative to
    the project root, with its topics named as ``topics`` says (the defaults otherwise)."""
    found = template(template_id)
    name = project or found.id
    values = {"project": name, **topic_names(template_id, name, topics)}
    return {
        path.relative_to(found.folder).as_posix(): _render(path, values)
        for path in sorted(found.folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def _render(path: Path, values: dict[str, str]) -> bytes:
    data = path.read_bytes()
    if path.suffix not in TEXT_SUFFIXES:
        return data

    def value(match: re.Match[str]) -> str:
        return values[match[1]]  # a KeyError is a template's bug: the tests render each one

    return PLACEHOLDER.sub(value, data.decode("utf-8")).encode("utf-8")
