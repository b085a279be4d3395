"""A deployment's steps: the operators inside its app, with records in and out per second."""

from __future__ import annotations

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


class DeploymentStepsOut(BaseModel):
    deployment: int
    sample_seconds: float = Field(description="how often replicas are scraped")
    window_seconds: float = Field(description="the span the rates are averaged over")
    steps: list[StepOut] = Field(
        description="the app's steps as its replicas last reported them; empty until one has"
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
    steps = []
    for step in reported.steps if reported is not None else ():
        records_in, records_out = (None, None) if rates is None else rates.get(step.id, (0.0, 0.0))
        steps.append(
            StepOut(
                id=step.id,
                kind=step.kind,
                label=step.label,
                inputs=list(step.inputs),
                records_in_per_second=records_in,
                records_out_per_second=records_out,
            )
        )
    return DeploymentStepsOut(
        deployment=row.id,
        sample_seconds=SAMPLE_SECONDS,
        window_seconds=STEP_WINDOW_SECONDS,
        steps=steps,
    )
