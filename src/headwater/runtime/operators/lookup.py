"""The lookup join: each record meets the row an external store holds for its key.

The distinct keys of the whole batch go to the store at once (through the client's cache,
chunks and retries), then one Polars join adds the fields. When the store keeps failing, the
batch's records go to the dead letters with the reason, or the app stops, as configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import polars as pl

from headwater.errors import ConfigError, LookupFailed, PipelineError
from headwater.lookup import ExternalStore, LookupClient, LookupPolicy
from headwater.runtime.loop.batch import ROW
from headwater.runtime.operators.steps import BatchContext, Operator

JoinHow = Literal["left", "inner"]
OnFailure = Literal["dead-letter", "stop"]


class LookupJoin(Operator):
    kind = "lookup"

    def __init__(
        self,
        store: ExternalStore,
        on: str,
        fields: Sequence[str] | None,
        prefix: str,
        how: JoinHow,
        on_failure: OnFailure,
        policy: LookupPolicy,
    ) -> None:
        self.client = LookupClient(store, policy)
        self.on = on
        self.fields = None if fields is None else list(fields)
        self.prefix = prefix
        self.how = how
        self.on_failure = on_failure

    def params(self) -> dict[str, Any]:
        return {"store": self.client.store.name, "on": self.on, "how": self.how}

    @property
    def label(self) -> str:
        return f"lookup({self.client.store.name} by {self.on})"

    def process(self, frame: pl.DataFrame, ctx: BatchContext) -> pl.DataFrame:
        if self.on not in frame.columns:
            raise ConfigError(f"{self.label}: the records have no column {self.on!r}")
        try:
            found = self.client.frame(frame[self.on])
        except LookupFailed as exc:
            if self.on_failure == "stop":
                raise PipelineError(
                    f"{self.label}: {exc}; the app stops (on_failure='stop')"
                ) from exc
            ctx.fail(frame[ROW].unique(maintain_order=True).to_list(), exc, self.label)
            return frame.clear()
        return attach_rows(frame, found, self.on, self.fields, self.prefix, self.how, self.label)


def attach_rows(
    frame: pl.DataFrame,
    found: pl.DataFrame,
    on: str,
    fields: list[str] | None,
    prefix: str,
    how: JoinHow,
    label: str,
) -> pl.DataFrame:
    """The batch with the fields of the rows ``found`` (one per key, in column ``on``) joined
    on ``on``, keeping the records' order; ``how="inner"`` drops records without a row."""
    present = [c for c in found.columns if c != on]
    chosen = present if fields is None else [c for c in fields if c in present]
    renamed = {c: prefix + c for c in chosen}
    clashes = [new for new in renamed.values() if new in frame.columns]
    if clashes:
        raise ConfigError(f"{label}: the records already have {clashes}; give prefix=...")
    right = found.select(on, *chosen).rename(renamed)
    joined = frame.join(right, on=on, how="left", maintain_order="left")
    if fields is not None:  # fields no row had: null columns, same schema
        missing = [prefix + c for c in fields if c not in chosen]
        joined = joined.with_columns([pl.lit(None).alias(c) for c in missing])
    if how == "inner":
        joined = joined.filter(pl.col(on).is_in(found[on].implode()))
    return joined
