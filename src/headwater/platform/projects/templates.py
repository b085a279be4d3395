"""Project templates: small complete Headwater apps with a headwater.yaml, in the package."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from headwater.platform.errors import Invalid

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    description: str

    @property
    def folder(self) -> Path:
        return TEMPLATES_DIR / self.id.replace("-", "_")


TEMPLATES = {
    t.id: t
    for t in (
        Template("hello-stream", "Hello stream", "Read JSON events, add a field, write them on."),
        Template(
            "windowed-features",
            "Windowed features",
            "Per-user features per minute (count, total, mean, max) in event-time windows.",
        ),
        Template(
            "ml-scoring",
            "ML scoring",
            "Score each batch of transactions with a model in pandas.",
        ),
        Template(
            "demo",
            "Live demo",
            "Three apps with data flowing at once: synthetic orders, per-customer windowed "
            "features and a scorer.",
        ),
    )
}


def template_files(template_id: str) -> dict[str, bytes]:
    """The files of a template, by path relative to the project root."""
    template = TEMPLATES.get(template_id)
    if template is None:
        raise Invalid(
            f"unknown template {template_id!r}; use one of {', '.join(sorted(TEMPLATES))}",
            [{"field": "template", "message": f"one of {', '.join(sorted(TEMPLATES))}"}],
        )
    return {
        path.relative_to(template.folder).as_posix(): path.read_bytes()
        for path in sorted(template.folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
