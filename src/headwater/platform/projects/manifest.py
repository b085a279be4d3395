"""``headwater.yaml``: the apps of a project and how each one is deployed.

apps:
  - name: user-features          # unique in the project
    entrypoint: app.py           # the app's file, relative to the project root
    inputs: [purchases]          # topics it reads; [] for a source that only produces
    outputs: [user-features]     # topics it writes
    replicas: 2                  # default number of processes (consumers of one group)
    cpu: 1                       # CPU cores per replica, 0.01-64 (0.5 = half a core)
    memory: 512Mi                # memory per replica: 16Mi-999999Mi or 1Gi-999Gi
    env: {LOG_LEVEL: info}       # environment variables
    secrets: {DB_PASSWORD: warehouse-password}   # env variable -> platform secret name
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from headwater.platform.errors import Invalid

MANIFEST_FILE = "headwater.yaml"
TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
# 16Mi to 999999Mi, or 1Gi to 999Gi: the pattern states the bounds, so the API schema does too.
MEMORY = re.compile(r"^(1[6-9]|[2-9][0-9]|[1-9][0-9]{2,5})(Mi)$|^([1-9][0-9]{0,2})(Gi)$")
MEMORY_HELP = "a size from 16Mi to 999Gi, e.g. 256Mi or 2Gi"
MIN_CPU = 0.01
MAX_CPU = 64
MAX_REPLICAS = 64
MAX_ENV_VALUE = 65_536
MAX_ENV_ENTRIES = 200

TopicName = Annotated[str, Field(pattern=TOPIC.pattern)]


def _not_text(value: Any) -> Any:
    """Numbers are written as numbers: "2" or true are refused, not converted."""
    if isinstance(value, str | bytes | bool):
        raise ValueError("must be a number, not text or a boolean")
    return value


def check_env_names(value: dict[str, str] | None) -> dict[str, str] | None:
    """Raises ValueError unless every key is an environment variable name and every value can
    be one (no NUL byte, at most ``MAX_ENV_VALUE`` characters)."""
    if value is not None and len(value) > MAX_ENV_ENTRIES:
        raise ValueError(f"has {len(value)} variables; at most {MAX_ENV_ENTRIES}")
    for name, text in (value or {}).items():
        if not ENV_NAME.match(name) or len(name) > 255:
            raise ValueError(
                f"{name[:80]!r} is not an environment variable name; use letters, digits and _"
            )
        if "\x00" in text:
            raise ValueError(f"{name}: a value cannot hold a NUL (0x00) character")
        if len(text) > MAX_ENV_VALUE:
            raise ValueError(f"{name}: the value is over {MAX_ENV_VALUE} characters")
    return value


def check_secret_refs(value: dict[str, str] | None) -> dict[str, str] | None:
    """Raises ValueError unless ``value`` maps variable names to secret names."""
    check_env_names(value)
    for env, secret in (value or {}).items():
        if not SECRET_NAME.match(secret):
            raise ValueError(f"{env}: {secret!r} is not a secret name (letters, digits, ._-)")
    return value


def memory_size(memory: str) -> int | None:
    """Bytes in a size such as ``256Mi`` or ``2Gi``; None if ``memory`` is not one (or is out
    of bounds)."""
    match = MEMORY.match(memory)
    if match is None:
        return None
    if match.group(2) == "Mi":
        return int(match.group(1)) << 20
    return int(match.group(3)) << 30


class AppSpec(BaseModel):
    """One app of a project."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)

    name: str = Field(pattern=APP_NAME.pattern)
    entrypoint: str = Field(min_length=1, max_length=255)
    inputs: list[TopicName]
    outputs: list[TopicName] = Field(default_factory=list, validate_default=True)
    replicas: Annotated[int, BeforeValidator(_not_text)] = Field(default=1, ge=1, le=MAX_REPLICAS)
    cpu: Annotated[float, BeforeValidator(_not_text)] = Field(default=0.5, ge=MIN_CPU, le=MAX_CPU)
    memory: str = Field(default="256Mi", description=MEMORY_HELP)
    env: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)

    @field_validator("entrypoint")
    @classmethod
    def _entrypoint(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/") or not value.endswith(".py"):
            raise ValueError("must be a .py file relative to the project root, e.g. app.py")
        return value

    @field_validator("outputs")
    @classmethod
    def _source_writes(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("inputs") == [] and not value:
            raise ValueError(
                "an app with `inputs: []` is a source: list the topics it writes here, "
                "or the topics it reads in `inputs`"
            )
        return value

    @field_validator("memory", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> Any:
        if not isinstance(value, str) or not MEMORY.match(value):
            raise ValueError(f"{value!r} is not a memory size; write {MEMORY_HELP}")
        return value

    _check_env = field_validator("env")(check_env_names)
    _check_secrets = field_validator("secrets")(check_secret_refs)

    @property
    def memory_bytes(self) -> int:
        size = memory_size(self.memory)
        assert size is not None
        return size


class Manifest(BaseModel):
    """The whole ``headwater.yaml``."""

    model_config = ConfigDict(extra="forbid")

    apps: list[AppSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Manifest:
        seen: set[str] = set()
        for app in self.apps:
            if app.name in seen:
                raise ValueError(f"two apps are named {app.name!r}; give each app its own name")
            seen.add(app.name)
        return self


class _Loader(yaml.SafeLoader):
    """YAML's safe loader without aliases (``*name``): a manifest needs none, and nested
    aliases can make a small file expand to an enormous document."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed; write the value out", event.start_mark
            )
        return super().compose_node(parent, index)


def parse_manifest(text: str | bytes, files: set[str] | None = None) -> Manifest:
    """The manifest in ``text``; Invalid listing each wrong field and its fix.

    With ``files`` (the project's paths), entrypoints must name one of them.
    """
    try:
        data = yaml.load(text, Loader=_Loader)
    except RecursionError:
        message = f"{MANIFEST_FILE} nests too deeply; an app entry needs a few levels only"
        raise Invalid(message, [{"field": MANIFEST_FILE, "message": message}]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        message = f"{MANIFEST_FILE} is not valid YAML{where}: {problem}"
        raise Invalid(message, [{"field": MANIFEST_FILE, "message": message}]) from None
    if not isinstance(data, dict):
        message = f"{MANIFEST_FILE} must be a mapping with an `apps:` list"
        raise Invalid(message, [{"field": MANIFEST_FILE, "message": message}])
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        errors = [_describe(error, data) for error in exc.errors()]
        raise Invalid(
            f"{MANIFEST_FILE} is invalid: "
            + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            errors,
        ) from None
    if files is not None:
        errors = [
            {
                "field": f"apps[{i}].entrypoint",
                "message": (
                    f"{app.entrypoint!r} is not a file of the project; create it or fix the path"
                ),
            }
            for i, app in enumerate(manifest.apps)
            if app.entrypoint not in files
        ]
        if errors:
            raise Invalid(
                f"{MANIFEST_FILE} is invalid: "
                + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                errors,
            )
    return manifest


def _describe(error: Any, data: dict[str, Any]) -> dict[str, str]:
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
    field = field.lstrip(".") or "apps"
    message = str(error["msg"]).removeprefix("Value error, ")
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        known = AppSpec.model_fields if len(error["loc"]) > 1 else Manifest.model_fields
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(known)}"
        message = f"unknown field; {hint}"
    elif kind == "string_type" and len(error["loc"]) > 1 and error["loc"][-2] in ("env", "secrets"):
        message += '; quote the value, e.g. "8080"'
    elif kind == "missing":
        message = "is required"
    return {"field": field, "message": message}
