"""A project's named secrets, for its deployments: set by editors, never returned in clear.

A secret belongs to one project: only that project's deployments can name it, so code of one
project never receives another's credentials.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from headwater.platform.api.dependencies import Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import NO_NUL, OkOut, ProjectName, described_pattern
from headwater.platform.auth.roles import Role
from headwater.platform.db.models import Secret
from headwater.platform.projects.manifest import SECRET_NAME

router = APIRouter(prefix="/api/projects", tags=["secrets"], responses=ERROR_RESPONSES)
SecretName = Annotated[
    str,
    Path(
        pattern=described_pattern(
            SECRET_NAME.pattern, "letters, digits and . _ -, starting with a letter or digit"
        ),
        max_length=64,
        description="letters, digits and . _ -",
    ),
]


class SecretIn(BaseModel):
    value: str = Field(min_length=1, max_length=65536, pattern=NO_NUL)


class SecretOut(BaseModel):
    """A secret's name and dates; its value is never returned."""

    project: str
    name: str
    created_at: datetime
    updated_at: datetime


def _out(secret: Secret) -> SecretOut:
    return SecretOut(
        project=secret.project,
        name=secret.name,
        created_at=secret.created_at,
        updated_at=secret.updated_at,
    )


@router.get("/{project}/secrets", response_model=list[SecretOut], **secured(Role.viewer))
def list_secrets(project: ProjectName, context: Context) -> list[SecretOut]:
    return [_out(s) for s in context.project_secrets.list(project)]


@router.put("/{project}/secrets/{name}", response_model=SecretOut, **secured(Role.editor))
def put_secret(
    project: ProjectName, name: SecretName, body: SecretIn, context: Context
) -> SecretOut:
    """Create or replace a secret of the project; it is encrypted before it is stored."""
    return _out(context.project_secrets.put(project, name, body.value))


@router.delete("/{project}/secrets/{name}", response_model=OkOut, **secured(Role.editor))
def delete_secret(project: ProjectName, name: SecretName, context: Context) -> OkOut:
    context.project_secrets.delete(project, name)
    return OkOut()
