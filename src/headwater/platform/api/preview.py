"""Preview runs: an app of a project over recent input records, outputs captured, not produced.

It runs the project's code, so it needs the editor role.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from headwater.platform.api.dependencies import Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES, ErrorOut
from headwater.platform.api.schemas import REF_PATTERN, ProjectName
from headwater.platform.api.topics import ClusterName
from headwater.platform.auth.roles import Role
from headwater.platform.deployments.limits import Limits
from headwater.platform.errors import Invalid, NotFound, PlatformError, TooLarge, Unavailable
from headwater.platform.preview import PreviewRequest, run_preview
from headwater.platform.projects.manifest import MANIFEST_FILE, AppSpec, parse_manifest
from headwater.platform.projects.paths import check_path

router = APIRouter(
    prefix="/api/projects",
    tags=["preview"],
    responses={
        **ERROR_RESPONSES,
        502: {"model": ErrorOut, "description": "The Kafka cluster did not answer"},
    },
)
DEFAULT_RECORDS = 10
MAX_UNSAVED_FILES = 100


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app: str | None = Field(
        default=None, description="the app's name in headwater.yaml; optional if there is one"
    )
    commit: str | None = Field(
        default=None,
        pattern=REF_PATTERN,
        description="a commit id (or prefix), HEAD or main; null: the working tree",
    )
    records: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description=f"the last N records of each input topic (default {DEFAULT_RECORDS})",
    )
    seconds: float | None = Field(
        default=None, gt=0, le=60, description="instead of records: what arrives in T seconds"
    )
    timeout: float = Field(default=30, gt=0, le=300, description="seconds before it is stopped")
    files: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_UNSAVED_FILES,
        description="unsaved editor contents, path -> text: this run uses them instead of the "
        "saved files (nothing is written)",
    )

    @model_validator(mode="after")
    def _one_source(self) -> PreviewIn:
        if self.records is not None and self.seconds is not None:
            raise ValueError("give records (the last N) or seconds (live data), not both")
        if self.seconds is not None and self.seconds >= self.timeout:
            raise ValueError(f"seconds ({self.seconds:g}) must be below timeout ({self.timeout:g})")
        if self.files and self.commit is not None:
            raise ValueError("unsaved files apply to the working tree: leave commit out")
        return self


class FrameOut(BaseModel):
    file: str = Field(description="path in the project")
    line: int
    function: str


class PreviewErrorOut(BaseModel):
    stage: str = Field(description="import, read, run, timeout or crash")
    type: str
    message: str
    traceback: str = Field(description="frames of the project's files only")
    frames: list[FrameOut]


class PreviewOut(BaseModel):
    # Every field is in each response: the generated web types need no `undefined`.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    app: str
    ref: str = Field(description="the commit run, or `workspace`")
    unsaved: list[str] = Field(
        default_factory=list, description="files run as the editor had them, not as saved"
    )
    inputs: dict[str, int] = Field(description="records read per input topic")
    outputs: dict[str, list[dict[str, Any]]] = Field(
        description="records per output topic: value fields plus _key and _timestamp"
    )
    output_counts: dict[str, int] = Field(description="all outputs, also those not returned")
    dead_letters: list[dict[str, Any]]
    logs: str = Field(description="what the app printed or logged")
    error: PreviewErrorOut | None
    timed_out: bool
    duration_ms: int


def _project_files(
    context: Context, project: str, commit: str | None
) -> tuple[str, dict[str, bytes]]:
    with context.projects.open(project) as repo:
        if commit is None:
            return "workspace", {f.path: repo.read(f.path) for f in repo.files()}
        at = repo.resolve(commit)
        return at, {path: repo.read_blob(blob) for path, (blob, _) in repo.snapshot(at).items()}


def _with_unsaved(
    files: dict[str, bytes], unsaved: dict[str, str], max_bytes: int
) -> tuple[dict[str, bytes], list[str]]:
    """``files`` with the editor's unsaved contents in place of the saved ones; and their paths."""
    merged = dict(files)
    cleaned: list[str] = []
    for path, text in unsaved.items():
        try:
            clean = check_path(path)
        except Invalid as exc:
            raise Invalid(exc.message, [{"field": "files", "message": exc.message}]) from None
        data = text.encode("utf-8")
        if len(data) > max_bytes:
            message = f"unsaved file {clean} is over {max_bytes} bytes; save a smaller one"
            raise TooLarge(message, [{"field": f"files.{clean}", "message": message}])
        merged[clean] = data
        cleaned.append(clean)
    return merged, sorted(cleaned)


def _app_spec(files: dict[str, bytes], ref: str, name: str | None) -> AppSpec:
    if MANIFEST_FILE not in files:
        raise NotFound(f"the project has no {MANIFEST_FILE} at {ref}; create one at its root")
    apps = parse_manifest(files[MANIFEST_FILE], set(files)).apps
    names = ", ".join(a.name for a in apps)
    if name is None:
        if len(apps) > 1:
            raise PlatformError(
                f"the project has several apps ({names}): choose one with `app`",
                [{"field": "app", "message": f"one of {names}"}],
            )
        return apps[0]
    for spec in apps:
        if spec.name == name:
            return spec
    raise NotFound(
        f"no app {name!r} in {MANIFEST_FILE}; its apps are {names}",
        [{"field": "app", "message": f"one of {names}"}],
    )


@router.post("/{name}/preview", response_model=PreviewOut, **secured(Role.editor))
def preview(
    name: ProjectName, body: PreviewIn, context: Context, cluster: ClusterName = None
) -> PreviewOut:
    """Run an app over the last records (or a few seconds of live data) of its inputs, as saved
    or with the editor's unsaved `files`.

    A failure of the app's own code is a result (200 with `error`), not a failed request.
    """
    ref, files = _project_files(context, name, body.commit)
    files, unsaved = _with_unsaved(files, body.files, context.settings.max_file_bytes)
    spec = _app_spec(files, ref, body.app)
    _, settings = context.clusters.resolve(cluster)
    models = context.models.folder(name)
    models.mkdir(parents=True, exist_ok=True)
    result = run_preview(
        PreviewRequest(
            files=files,
            entrypoint=spec.entrypoint,
            env=spec.env,
            settings=settings,
            records=None if body.seconds is not None else body.records or DEFAULT_RECORDS,
            seconds=body.seconds,
            timeout=body.timeout,
            sandbox=context.sandbox,
            limits=Limits(spec.cpu, spec.memory_bytes),
            enforcer=context.supervisor.enforcer,
            models_dir=models,
        )
    )
    error = result.get("error")
    if error and error["stage"] == "read":
        # The inputs, not the code, are wrong: a missing topic or an unreachable cluster.
        if error["type"] == "MissingTopicError":
            raise NotFound(error["message"])
        raise Unavailable(error["message"])
    return PreviewOut(app=spec.name, ref=ref, unsaved=unsaved, **result)
