"""A project's model registry: upload versions (viewers list, editors upload and promote),
move aliases such as ``production`` and roll them back."""

from __future__ import annotations

import asyncio
import json
import math
import re
import tempfile
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from headwater.platform.api.dependencies import Context, Editor, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import Integer, ProjectName, described_pattern
from headwater.platform.auth.roles import Role
from headwater.platform.db.models import AliasMove, ModelVersion
from headwater.platform.domain.models import NAME_HELP, ModelView, Upload
from headwater.platform.errors import Invalid, TooLarge

router = APIRouter(prefix="/api/projects", tags=["models"], responses=ERROR_RESPONSES)
# The upload route reads its body to a file, within the registry's own limit (see BodyLimit).
UPLOAD_PATH = re.compile(r"^/api/projects/[^/]+/models/[^/]+/versions$")
MODEL_NAME = described_pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", NAME_HELP)
ModelName = Annotated[str, Path(pattern=MODEL_NAME, description="the model's name")]
AliasName = Annotated[
    str, Path(pattern=MODEL_NAME, description="the alias, e.g. production or staging")
]
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "the model file (.joblib, .onnx, .ubj, .lgb...) or a .zip / .tar.gz of "
        "its folder (an MLflow model)",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class FeatureOut(BaseModel):
    name: str
    kind: str


class VersionOut(BaseModel):
    version: int
    framework: str
    features: list[FeatureOut]
    outputs: list[str]
    metrics: dict[str, float]
    description: str
    filename: str
    size_bytes: int
    author: str
    created_at: datetime
    aliases: list[str]


class MoveOut(BaseModel):
    alias: str
    from_version: int | None
    to_version: int
    rollback: bool
    username: str
    moved_at: datetime


class ModelOut(BaseModel):
    project: str
    name: str
    reference: str = Field(description="how a pipeline names it: models:/NAME@production")
    created_by: str
    created_at: datetime
    aliases: dict[str, int]
    versions: list[VersionOut]
    moves: list[MoveOut]


class PromoteIn(BaseModel):
    version: Integer = Field(ge=1, le=2**31 - 1)


def _version_out(row: ModelVersion, aliases: dict[str, int]) -> VersionOut:
    return VersionOut(
        version=row.version,
        framework=row.framework,
        features=[FeatureOut(**f) for f in json.loads(row.features_json)],
        outputs=json.loads(row.outputs_json),
        metrics=json.loads(row.metrics_json),
        description=row.description,
        filename=row.filename,
        size_bytes=row.size_bytes,
        author=row.author,
        created_at=row.created_at,
        aliases=sorted(a for a, v in aliases.items() if v == row.version),
    )


def _move_out(row: AliasMove) -> MoveOut:
    return MoveOut(
        alias=row.alias,
        from_version=row.from_version,
        to_version=row.to_version,
        rollback=row.rollback,
        username=row.username,
        moved_at=row.moved_at,
    )


def _out(view: ModelView) -> ModelOut:
    model = view.model
    return ModelOut(
        project=model.project,
        name=model.name,
        reference=f"models:/{model.name}@production",
        created_by=model.created_by,
        created_at=model.created_at,
        aliases=dict(sorted(view.aliases.items())),
        versions=[_version_out(v, view.aliases) for v in view.versions],
        moves=[_move_out(m) for m in view.moves],
    )


@router.get("/{project}/models", response_model=list[ModelOut], **secured(Role.viewer))
def list_models(project: ProjectName, context: Context) -> list[ModelOut]:
    return [_out(view) for view in context.models.list(project)]


@router.get("/{project}/models/{name}", response_model=ModelOut, **secured(Role.viewer))
def get_model(project: ProjectName, name: ModelName, context: Context) -> ModelOut:
    return _out(context.models.get(project, name))


@router.post(
    "/{project}/models/{name}/versions",
    status_code=201,
    response_model=VersionOut,
    openapi_extra={**UPLOAD_BODY, **secured(Role.editor)["openapi_extra"]},
)
async def upload_version(
    project: ProjectName,
    name: ModelName,
    request: Request,
    principal: Editor,
    context: Context,
    filename: Annotated[
        str,
        Query(min_length=1, max_length=255, description="the file's name, e.g. fraud.joblib"),
    ],
    framework: Annotated[
        str | None, Query(description="sklearn, onnx, xgboost, lightgbm or mlflow")
    ] = None,
    features: Annotated[
        str | None,
        Query(
            max_length=10000, description="input columns, comma-separated, if the file lacks them"
        ),
    ] = None,
    metrics: Annotated[
        str | None, Query(max_length=10000, description='a JSON object, e.g. {"auc": 0.91}')
    ] = None,
    description: Annotated[str, Query(max_length=500)] = "",
    alias: Annotated[
        str | None,
        Query(pattern=MODEL_NAME, description="move this alias to the new version"),
    ] = None,
) -> VersionOut:
    """Upload a model file, or a .zip / .tar.gz of a model folder, as the model's next version.
    The platform loads it in its sandbox first: a file that does not load is refused with the
    field to fix, and nothing changes."""
    chosen_features, chosen_metrics = _features(features), _metrics(metrics)  # before the body
    context.projects.get(project)  # before reading a large body for nothing
    registry = context.models
    root = registry.folder(project).parent
    root.mkdir(parents=True, exist_ok=True)
    # A dot first: no project's folder is named so.
    with tempfile.TemporaryDirectory(prefix=".upload-", dir=root) as folder:
        data = FilePath(folder) / "upload"
        size = 0
        with data.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > registry.max_bytes:
                    raise TooLarge(
                        f"file: the model is over {registry.max_bytes} bytes",
                        [{"field": "file", "message": f"at most {registry.max_bytes} bytes"}],
                    )
                out.write(chunk)
        if size == 0:
            raise Invalid(
                "file: the request body is empty; send the model's bytes",
                [{"field": "file", "message": "send the model file as the request body"}],
            )
        upload = Upload(
            data=data,
            filename=filename,
            framework=framework or None,
            features=chosen_features,
            metrics=chosen_metrics,
            description=description,
        )
        row = await asyncio.to_thread(
            registry.add_version, project, name, upload, principal.username
        )
    aliases: dict[str, int] = {}
    if alias is not None:
        view = await asyncio.to_thread(
            registry.promote, project, name, alias, row.version, principal.username
        )
        aliases = view.aliases
    return _version_out(row, aliases)


@router.put(
    "/{project}/models/{name}/aliases/{alias}", response_model=ModelOut, **secured(Role.editor)
)
def promote(
    project: ProjectName,
    name: ModelName,
    alias: AliasName,
    body: PromoteIn,
    principal: Editor,
    context: Context,
) -> ModelOut:
    """Move ``alias`` to a version: deployments following ``models:/NAME@ALIAS`` swap to it
    between two batches, within seconds, without a restart."""
    return _out(context.models.promote(project, name, alias, body.version, principal.username))


@router.post(
    "/{project}/models/{name}/aliases/{alias}/rollback",
    response_model=ModelOut,
    **secured(Role.editor),
)
def rollback(
    project: ProjectName, name: ModelName, alias: AliasName, principal: Editor, context: Context
) -> ModelOut:
    """Move ``alias`` back to the version it pointed to before its last move."""
    return _out(context.models.rollback(project, name, alias, principal.username))


def _features(text: str | None) -> list[str] | None:
    if text is None or not text.strip():
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise Invalid(
            "features: an empty name; write the columns comma-separated, e.g. amount,night",
            [{"field": "features", "message": "comma-separated column names, e.g. amount,night"}],
        )
    return names


def _metrics(text: str | None) -> dict[str, float] | None:
    if text is None or not text.strip():
        return None
    fix = 'a JSON object of numbers, e.g. {"auc": 0.91, "accuracy": 0.88}'
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in data.values()
    ):
        raise Invalid(f"metrics: {fix}", [{"field": "metrics", "message": fix}])
    return {str(k): float(v) for k, v in data.items()}
