"""The logical plan between the DataFrame API and the runtime (see docs/topology.md)."""

from headwater.plan.builder import PlanBuilder
from headwater.plan.plan import PLAN_VERSION, Plan, Step
from headwater.plan.projection import Projection, projection
from headwater.plan.values import CallableTable

__all__ = [
    "PLAN_VERSION",
    "CallableTable",
    "Plan",
    "PlanBuilder",
    "Projection",
    "Step",
    "projection",
]
