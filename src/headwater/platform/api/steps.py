"""Inside a deployment: its app's steps with records in and out per second, busy ratio,
watermark, state, late records and dead letters; the app's busy ratio and checkpoint history."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel, Field

from headwater.platform.api.dependencies import Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import RowId
from headwater.platform.auth.roles import Role
from headwater.platform.metrics import SAMPLE_SECONDS, STEP_WINDOW_SECONDS

router = APIRouter(prefix="/api", tags=["deployments"], responses=ERROR_RESPONSES)


class StepOut(BaseModel):
    id: str = Field(description="the step's id in the app's topology")
    kind: str = Field(description="source, filter, assign, map_batches, group_by, window, ...")
    label: str
    inputs: list[str] = Field(description="ids of the steps whose records it receives")
    records_in_per_second: float | None = Field(
        description="records that reached the step, summed over replicas; null until measured"
    )
    records_out_per_second: float | None = Field(
        description="records the step handed on, summed over replicas; null until measured"
    )
    busy_ratio: float | None = Field(
        None, description="share of the loop's time spent in this step, 0 to 1; null until measured"
    )
    watermark: int | None = Field(
        None, description="event-time watermark, epoch ms (least over replicas); null: none"
    )
    watermark_lag_seconds: float | None = Field(
        None, description="how far the watermark trails the wall clock"
    )
    state_entries: int | None = Field(
        None, description="entries in the step's state stores (estimate); null: stateless"
    )
    late_records: int | None = Field(
        None, description="records behind the watermark, counted by the running replicas"
    )
    dead_letters: int | None = Field(
        None, description="records sent to the dead letters, counted by the running replicas"
    )


class CheckpointOut(BaseModel):
    at: float = Field(description="epoch seconds of the sample that saw these checkpoints")
    checkpoints: int = Field(description="checkpoints completed since the sample before")
    mean_seconds: float | None = Field(description="their mean duration; null: none completed")
    offsets: int = Field(description="partition offsets they committed")
    changelog_records: int = Field(description="changelog records they wrote")
    failures: int = Field(description="checkpoints undone (aborted transactions, fenced)")


class BusyOut(BaseModel):
    at: float = Field(description="epoch seconds")
    ratio: float = Field(description="busy share of the loop's time since the sample before")


class DeploymentStepsOut(BaseModel):
    deployment: int
    sample_seconds: float = Field(description="how often replicas are scraped")
    window_seconds: float = Field(description="the span the rates are averaged over")
    steps: list[StepOut] = Field(
        description="the app's steps as its replicas last reported them; empty until one has"
    )
    busy_ratio: float | None = Field(
        None, description="share of the app loop's time spent processing rather than polling"
    )
    busy_history: list[BusyOut] = Field(default_factory=list, description="the last hour")
    checkpoints: list[CheckpointOut] = Field(
        default_factory=list, description="the last hour's checkpoints, a point per sample"
    )


@router.get(
    "/deployments/{deployment_id}/steps",
    response_model=DeploymentStepsOut,
    **secured(Role.viewer),
)
def deployment_steps(deployment_id: RowId, context: Context) -> DeploymentStepsOut:
    """The app's steps (from its topology) with their rates: null until its replicas have been
    scraped twice, and while none runs."""
    row = context.deployments.get(deployment_id)
    context.supervisor.replicas(row.id)  # records the latest report: the steps
    reported = context.supervisor.last_reported(row.id)
    rates = context.step_rates.rates(row.id)
    inside = context.app_inside
    figures = inside.steps(row.id)
    steps = []
    for step in reported.steps if reported is not None else ():
        records_in, records_out = (None, None) if rates is None else rates.get(step.id, (0.0, 0.0))
        found = figures.get(step.id)
        steps.append(
            StepOut(
                id=step.id,
                kind=step.kind,
                label=step.label,
                inputs=list(step.inputs),
                records_in_per_second=records_in,
                records_out_per_second=records_out,
                **(asdict(found) if found is not None else {}),
            )
        )
    return DeploymentStepsOut(
        deployment=row.id,
        sample_seconds=SAMPLE_SECONDS,
        window_seconds=STEP_WINDOW_SECONDS,
        steps=steps,
        busy_ratio=inside.busy_ratio(row.id),
        busy_history=[BusyOut(at=at, ratio=ratio) for at, ratio in inside.busy_history(row.id)],
        checkpoints=[CheckpointOut(**asdict(p)) for p in inside.checkpoints(row.id)],
    )
