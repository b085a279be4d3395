"""A project's model registry: versions uploaded and validated, aliases promoted and rolled back.

The database says what exists; the files live under ``<data dir>/models/<project>/`` in the
layout ``headwater.models.registry`` reads, which deployments of the project see read-only.
An upload is unpacked and loaded (in the sandbox) in a staging folder first: a refused upload
changes nothing. The alias file is rewritten after the database commits, under the project's
registry lock, so it always shows the committed aliases.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from headwater.models.loading import FRAMEWORKS
from headwater.models.registry import NAME_PATTERN, RegistryFolder
from headwater.platform.db.models import AliasMove, ModelAlias, ModelVersion, RegisteredModel
from headwater.platform.db.session import Database
from headwater.platform.errors import Conflict, Invalid, NotFound
from headwater.platform.projects.store import ProjectStore
from headwater.platform.registry.archive import archive_stem, unpack
from headwater.platform.registry.inspect import Inspection, inspect_model
from headwater.platform.sandbox import Sandbox

NAME_HELP = "letters, digits and . _ -, starting with a letter or digit (at most 64)"


@dataclass(frozen=True)
class Upload:
    """One version to add: the uploaded bytes (in a file) and what the uploader said of it."""

    data: Path
    filename: str
    framework: str | None = None
    features: list[str] | None = None
    metrics: dict[str, float] | None = None
    description: str = ""


@dataclass(frozen=True)
class ModelView:
    model: RegisteredModel
    versions: list[ModelVersion]  # newest first
    aliases: dict[str, int]
    moves: list[AliasMove]  # newest first


class ModelRegistry:
    """Models of every project of one server."""

    def __init__(
        self, db: Database, projects: ProjectStore, root: Path, sandbox: Sandbox, max_bytes: int
    ) -> None:
        self._db = db
        self._projects = projects
        self._root = root
        self._sandbox = sandbox
        self.max_bytes = max_bytes
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def folder(self, project: str) -> Path:
        """The project's registry folder: what its deployments read (``$HEADWATER_MODELS_DIR``)."""
        return self._root / project

    # Reading
    def list(self, project: str) -> list[ModelView]:
        self._projects.get(project)
        with self._db.session() as session:
            query = select(RegisteredModel).where(RegisteredModel.project == project)
            return [self._view(session, m) for m in session.scalars(query.order_by("name"))]

    def get(self, project: str, name: str) -> ModelView:
        self._projects.get(project)
        with self._db.session() as session:
            return self._view(session, self._model(session, project, name))

    # Changing
    def add_version(self, project: str, name: str, upload: Upload, author: str) -> ModelVersion:
        """Validate ``upload`` by loading it in the sandbox, then store it as the next version."""
        self._projects.get(project)
        _check_name(name, "name")
        if upload.framework is not None and upload.framework not in FRAMEWORKS:
            raise _invalid("framework", f"one of {', '.join(FRAMEWORKS)}, not {upload.framework!r}")
        self._root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=self._root))
        try:
            artifact = self._stage(upload, staging)
            inspection = inspect_model(self._sandbox, artifact, upload.framework, upload.features)
            size = _size(artifact)
            with self._lock(project):
                return self._store(project, name, upload, author, artifact, inspection, size)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def promote(self, project: str, name: str, alias: str, version: int, author: str) -> ModelView:
        """Point ``alias`` at ``version``; deployments following it swap within seconds."""
        _check_name(alias, "alias")
        with self._lock(project):
            with self._db.session() as session:
                model = self._model(session, project, name)
                self._version(session, model, version)
                self._move(session, model, alias, version, author, rollback=False)
            return self._publish(project, name)

    def rollback(self, project: str, name: str, alias: str, author: str) -> ModelView:
        """Point ``alias`` back at the version it pointed to before its last move."""
        with self._lock(project):
            with self._db.session() as session:
                model = self._model(session, project, name)
                last = session.scalar(
                    select(AliasMove)
                    .where(AliasMove.model_id == model.id, AliasMove.alias == alias)
                    .order_by(AliasMove.id.desc())
                    .limit(1)
                )
                if last is None or last.from_version is None:
                    message = (
                        f"alias {alias!r} of model {name!r} has no earlier version to go back to; "
                        "promote a version to it instead"
                    )
                    raise Conflict(message, [{"field": "alias", "message": message}])
                self._move(session, model, alias, last.from_version, author, rollback=True)
            return self._publish(project, name)

    # Helpers
    def _stage(self, upload: Upload, staging: Path) -> Path:
        """The uploaded model as a file or folder in ``staging``, named as uploaded."""
        filename = Path(upload.filename).name
        if (
            not filename
            or filename in (".", "..")
            or filename != upload.filename
            or "\x00" in filename  # no file system takes it
        ):
            raise _invalid(
                "filename", "the uploaded file's name, without folders, e.g. fraud.joblib"
            )
        stem = archive_stem(filename)
        if stem is None:
            target = staging / filename
            upload.data.rename(target)
            return target
        unpacked = staging / ".unpacked"
        unpack(upload.data, unpacked, self.max_bytes)
        entries = list(unpacked.iterdir())
        if not entries:
            raise _invalid("file", "the archive is empty; archive the model's folder")
        if len(entries) == 1:  # a folder archived with its name, or one file: that is the model
            return entries[0].rename(staging / entries[0].name)
        return unpacked.rename(staging / stem)

    def _store(
        self,
        project: str,
        name: str,
        upload: Upload,
        author: str,
        artifact: Path,
        inspection: Inspection,
        size: int,
    ) -> ModelVersion:
        registry = RegistryFolder(self.folder(project))
        try:
            with self._db.session() as session:
                model = session.scalar(
                    select(RegisteredModel).where(
                        RegisteredModel.project == project, RegisteredModel.name == name
                    )
                )
                if model is None:
                    model = RegisteredModel(project=project, name=name, created_by=author)
                    session.add(model)
                    session.flush()
                    # Files of a model no row names: a deleted project's, or a crash's.
                    shutil.rmtree(registry.root / name, ignore_errors=True)
                latest = session.scalar(
                    select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model.id)
                )
                number = (latest or 0) + 1
                outputs = ["prediction", "score"] if inspection.classifier else ["prediction"]
                row = ModelVersion(
                    model_id=model.id,
                    version=number,
                    framework=inspection.framework,
                    features_json=json.dumps(inspection.features),
                    outputs_json=json.dumps(outputs),
                    metrics_json=json.dumps(upload.metrics or {}),
                    description=upload.description,
                    filename=artifact.name,
                    size_bytes=size,
                    author=author,
                    created_at=datetime.now(UTC),
                )
                session.add(row)
                session.flush()
                folder = registry.version_folder(name, number)
                if folder.exists():  # left by a crash between disk and database
                    shutil.rmtree(folder)
                registry.add_version(
                    name,
                    number,
                    artifact,
                    inspection.framework,
                    [f["name"] for f in inspection.features],
                )
        except IntegrityError:
            raise Conflict(f"model {name!r} changed meanwhile; upload again") from None
        return row

    def _move(
        self,
        session: Session,
        model: RegisteredModel,
        alias: str,
        version: int,
        author: str,
        rollback: bool,
    ) -> None:
        now = datetime.now(UTC)
        current = session.scalar(
            select(ModelAlias).where(ModelAlias.model_id == model.id, ModelAlias.alias == alias)
        )
        before = None if current is None else current.version
        if current is None:
            current = ModelAlias(model_id=model.id, alias=alias)
            session.add(current)
        current.version, current.updated_by, current.updated_at = version, author, now
        session.add(
            AliasMove(
                model_id=model.id,
                alias=alias,
                from_version=before,
                to_version=version,
                rollback=rollback,
                username=author,
                moved_at=now,
            )
        )

    def _publish(self, project: str, name: str) -> ModelView:
        """Write the committed aliases where deployments read them (under the lock)."""
        view = self.get(project, name)
        RegistryFolder(self.folder(project)).write_aliases(name, view.aliases)
        return view

    def _view(self, session: Session, model: RegisteredModel) -> ModelView:
        versions = session.scalars(
            select(ModelVersion)
            .where(ModelVersion.model_id == model.id)
            .order_by(ModelVersion.version.desc())
        )
        aliases = session.scalars(select(ModelAlias).where(ModelAlias.model_id == model.id))
        moves = session.scalars(
            select(AliasMove)
            .where(AliasMove.model_id == model.id)
            .order_by(AliasMove.id.desc())
            .limit(50)
        )
        return ModelView(
            model=model,
            versions=list(versions),
            aliases={a.alias: a.version for a in aliases},
            moves=list(moves),
        )

    def _model(self, session: Session, project: str, name: str) -> RegisteredModel:
        model = session.scalar(
            select(RegisteredModel).where(
                RegisteredModel.project == project, RegisteredModel.name == name
            )
        )
        if model is None:
            raise NotFound(f"project {project!r} has no model {name!r}; upload a version first")
        return model

    def _version(self, session: Session, model: RegisteredModel, version: int) -> ModelVersion:
        row = session.scalar(
            select(ModelVersion).where(
                ModelVersion.model_id == model.id, ModelVersion.version == version
            )
        )
        if row is None:
            message = f"model {model.name!r} has no version {version}; list its versions"
            raise NotFound(message, [{"field": "version", "message": message}])
        return row

    def _lock(self, project: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(project, threading.Lock())


def _check_name(value: str, field: str) -> None:
    if not NAME_PATTERN.match(value):
        raise _invalid(field, f"{value!r} is not a name: {NAME_HELP}")


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", [{"field": field, "message": message}])
