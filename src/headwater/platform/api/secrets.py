"""Named secrets for deployments: written by admins, never returned in clear."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from sqlalchemy import select

from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import OkOut
from headwater.platform.auth.dependencies import secured
from headwater.platform.auth.roles import Role
from headwater.platform.context import Context
from headwater.platform.db.models import Secret
from headwater.platform.errors import NotFound
from headwater.platform.projects.manifest import SECRET_NAME

router = APIRouter(prefix="/api/secrets", tags=["secrets"], responses=ERROR_RESPONSES)
SecretName = Annotated[
    str, Path(pattern=SECRET_NAME.pattern, description="letters, digits and . _ -")
]


class SecretIn(BaseModel):
    value: str = Field(min_length=1, max_length=65536)


class SecretOut(BaseModel):
    """A secret's name and dates; its value is never returned."""

    name: str
    created_at: datetime
    updated_at: datetime


def _out(secret: Secret) -> SecretOut:
    return SecretOut(name=secret.name, created_at=secret.created_at, updated_at=secret.updated_at)


@router.get("", response_model=list[SecretOut], **secured(Role.viewer))
def list_secrets(context: Context) -> list[SecretOut]:
    with context.db.session() as session:
        return [_out(s) for s in session.scalars(select(Secret).order_by(Secret.name))]


@router.put("/{name}", response_model=SecretOut, **secured(Role.admin))
def put_secret(
    body: SecretIn,
    name: SecretName,
    context: Context,
) -> SecretOut:
    """Create or replace a secret; it is encrypted before it is stored."""
    ciphertext = context.secrets.encrypt(body.value)
    with context.db.session() as session:
        secret = session.scalar(select(Secret).where(Secret.name == name))
        if secret is None:
            secret = Secret(name=name, ciphertext=ciphertext)
            session.add(secret)
        else:
            secret.ciphertext = ciphertext
            secret.updated_at = datetime.now(UTC)
        session.flush()
        return _out(secret)


@router.delete("/{name}", response_model=OkOut, **secured(Role.admin))
def delete_secret(name: SecretName, context: Context) -> OkOut:
    with context.db.session() as session:
        secret = session.scalar(select(Secret).where(Secret.name == name))
        if secret is None:
            raise NotFound(f"no secret {name!r}")
        session.delete(secret)
    return OkOut()
