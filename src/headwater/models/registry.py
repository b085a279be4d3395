"""A model registry as a folder: what ``models:/name@alias`` and ``models:/name/3`` resolve to.

The platform keeps each project's registry in this layout and deployments read it, so one
module owns it, reading and writing::

    <root>/<name>/aliases.json              {"production": 3, "staging": 4}
    <root>/<name>/versions/<n>/version.json {"version": n, "path": ..., "framework": ...}
    <root>/<name>/versions/<n>/<path>       the model file or folder, as uploaded

A version's folder is complete before its number appears anywhere, and ``aliases.json`` is
replaced whole (write, then rename), so a reader never sees half of either.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from headwater.errors import ConfigError

SCHEME = "models:/"
MODELS_DIR_ENV = "HEADWATER_MODELS_DIR"
ALIASES_FILE = "aliases.json"
VERSION_FILE = "version.json"
# Model and alias names: letters, digits and . _ -, starting with a letter or digit.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_REFERENCE = re.compile(r"^models:/([^/@]+)(?:@([^/@]+)|/([0-9]+))$")


@dataclass(frozen=True)
class ModelReference:
    """``models:/fraud@production`` (follows the alias) or ``models:/fraud/3`` (one version)."""

    name: str
    alias: str | None = None
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> ModelReference | None:
        """The reference ``text`` names, None if it is not a ``models:/`` address (a path)."""
        if not text.startswith(SCHEME):
            return None
        found = _REFERENCE.match(text)
        if found is None or not NAME_PATTERN.match(found[1]):
            raise ConfigError(
                f"model {text!r}: write models:/NAME@ALIAS (e.g. models:/fraud@production) or "
                "models:/NAME/VERSION (e.g. models:/fraud/3)"
            )
        if found[2] is not None:
            return cls(found[1], alias=found[2])
        return cls(found[1], version=int(found[3]))

    def __str__(self) -> str:
        tail = f"@{self.alias}" if self.alias is not None else f"/{self.version}"
        return f"{SCHEME}{self.name}{tail}"


@dataclass(frozen=True)
class RegisteredVersion:
    """One stored version of a model: where its file is and how to load it."""

    name: str
    version: int
    path: Path
    framework: str
    features: tuple[str, ...]


class RegistryFolder:
    """Reads (and, for the platform, writes) one registry folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_environment(cls, reference: ModelReference) -> RegistryFolder:
        """The registry a deployed app reads: ``$HEADWATER_MODELS_DIR``, set by the platform."""
        folder = os.environ.get(MODELS_DIR_ENV)
        if not folder:
            raise ConfigError(
                f"model {reference}: no model registry here; deploy the app on the platform, "
                f"or set {MODELS_DIR_ENV} to a registry folder"
            )
        return cls(folder)

    # Reading
    def aliases(self, name: str) -> dict[str, int]:
        try:
            data = json.loads((self.root / name / ALIASES_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {str(alias): int(version) for alias, version in data.items()}

    def aliases_stamp(self, name: str) -> tuple[int, int] | None:
        """Changes whenever the aliases of ``name`` move (each write is a new file, so its inode
        changes even within one tick of the file system's clock): cheap enough for every batch."""
        try:
            found = (self.root / name / ALIASES_FILE).stat()
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_mtime_ns

    def version_of(self, reference: ModelReference) -> int:
        """The version ``reference`` names now."""
        if reference.version is not None:
            return reference.version
        assert reference.alias is not None
        aliases = self.aliases(reference.name)
        if reference.alias not in aliases:
            known = ", ".join(sorted(aliases)) or "none"
            raise ConfigError(
                f"model {reference}: {reference.name!r} has no alias {reference.alias!r} "
                f"(its aliases: {known}); promote a version to it first"
            )
        return aliases[reference.alias]

    def get(self, name: str, version: int) -> RegisteredVersion:
        folder = self.root / name / "versions" / str(version)
        try:
            data = json.loads((folder / VERSION_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"model {SCHEME}{name}/{version}: no such version in the registry; upload it first"
            ) from None
        return RegisteredVersion(
            name=name,
            version=version,
            path=folder / data["path"],
            framework=data["framework"],
            features=tuple(data.get("features") or ()),
        )

    def resolve(self, reference: ModelReference) -> RegisteredVersion:
        return self.get(reference.name, self.version_of(reference))

    # Writing (the platform's registry)
    def version_folder(self, name: str, version: int) -> Path:
        return self.root / name / "versions" / str(version)

    def add_version(
        self, name: str, version: int, staged: Path, framework: str, features: list[str]
    ) -> Path:
        """Move ``staged`` (a file or folder) in as ``version`` of ``name``; its description is
        written last, so the version exists only once it is whole. Returns the stored path."""
        folder = self.version_folder(name, version)
        folder.mkdir(parents=True, exist_ok=False)
        target = folder / staged.name
        staged.rename(target)
        description = {
            "version": version,
            "path": staged.name,
            "framework": framework,
            "features": features,
        }
        _replace(folder / VERSION_FILE, description)
        return target

    def write_aliases(self, name: str, aliases: dict[str, int]) -> None:
        (self.root / name).mkdir(parents=True, exist_ok=True)
        _replace(self.root / name / ALIASES_FILE, dict(sorted(aliases.items())))


def _replace(path: Path, data: object) -> None:
    """Write ``path`` whole: a reader sees the old content or the new, never a part."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(data, out)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
