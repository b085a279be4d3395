"""A deployment's throughput and lag, from the sampled series of its topics and its own group.

"In" is what the deployment's consumer group committed per second on each topic it reads, not
what producers wrote there: an app that consumes nothing shows 0 however busy its input is.
Lag is its group's alone; other groups reading the same topic belong to other apps.
"""

from __future__ import annotations

from collections.abc import Iterable

from headwater.platform.metrics.store import MetricsStore, Point, SeriesKey


def deployment_series(
    store: MetricsStore,
    cluster: str,
    group: str | None,
    consumed: Iterable[str],
    produced: Iterable[str],
) -> dict[SeriesKey, list[Point]]:
    """``in`` and ``lag`` per topic it consumes (once its group is known), ``out`` per topic it
    produces, each labelled with the topic."""
    found: dict[SeriesKey, list[Point]] = {}
    if group is not None:
        own = (("group", group),)
        for topic in consumed:
            sampled = store.topic(cluster, topic)
            label = (("topic", topic),)
            for metric, name in (("consumed", "in"), ("lag", "lag")):
                points = sampled.get((metric, own))
                if points:
                    found[(name, label)] = points
    for topic in produced:
        points = store.topic(cluster, topic).get(("rate", ()))
        if points:
            found[("out", (("topic", topic),))] = points
    return found
