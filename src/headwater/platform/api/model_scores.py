"""Model monitoring: what each deployment of a project scored with its models, sample by
sample and per version (records per second, scoring time per batch, score distribution and
its drift)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from headwater.models.monitoring import SCORE_BINS
from headwater.platform.api.dependencies import Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import ProjectName
from headwater.platform.auth.roles import Role
from headwater.platform.metrics import SAMPLE_SECONDS, ScorePoint
from headwater.platform.metrics.models import DRIFT_WINDOW_SECONDS, REFERENCE_RECORDS

router = APIRouter(prefix="/api/projects", tags=["models"], responses=ERROR_RESPONSES)


class ScorePointOut(BaseModel):
    at: float = Field(description="epoch seconds of the sample")
    version: str = Field(description="the model version that scored; empty for a model file")
    records_per_second: float
    batch_ms: float | None = Field(description="mean time to score one batch")
    bins: list[float] = Field(
        description=f"scores since the sample before, per 1/{SCORE_BINS} of [0, 1]; empty "
        "for a model without scores (a regressor)"
    )
    drift: float | None = Field(
        description="population stability index of the version's recent scores against its "
        "first ones; null until it has a reference"
    )


class ModelStepOut(BaseModel):
    deployment: int
    app: str
    step: str = Field(description="the model step's id in the app's topology")
    model: str = Field(
        description="the model as the pipeline names it, e.g. models:/fraud@production"
    )
    points: list[ScorePointOut] = Field(description="oldest first, the last hour")


class ModelScoresOut(BaseModel):
    sample_seconds: float = Field(description="how often replicas are scraped")
    reference_records: int = Field(description="scores that make a version's reference")
    drift_window_seconds: float = Field(description="the span of recent scores drift compares")
    steps: list[ModelStepOut]


def _point(point: ScorePoint) -> ScorePointOut:
    return ScorePointOut(
        at=point.at,
        version=point.version,
        records_per_second=point.records_per_second,
        batch_ms=point.batch_ms,
        bins=point.bins,
        drift=point.drift,
    )


@router.get("/{project}/model-scores", response_model=ModelScoresOut, **secured(Role.viewer))
def model_scores(project: ProjectName, context: Context) -> ModelScoresOut:
    """Every model step of the project's deployments with what it scored, per sample."""
    steps = []
    for deployment in context.deployments.list(project):
        found = context.model_scores.points(deployment.id)
        for (step, model), points in sorted(found.items()):
            steps.append(
                ModelStepOut(
                    deployment=deployment.id,
                    app=deployment.app,
                    step=step,
                    model=model,
                    points=[_point(p) for p in points],
                )
            )
    return ModelScoresOut(
        sample_seconds=SAMPLE_SECONDS,
        reference_records=REFERENCE_RECORDS,
        drift_window_seconds=DRIFT_WINDOW_SECONDS,
        steps=steps,
    )
