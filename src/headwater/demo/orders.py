"""The example order pipeline: the one ``headwater demo`` runs and ``examples/orders`` ships.

Each order event is enriched with its total and region; every valid order goes to
``order-totals``, orders worth at least ``LARGE_ORDER`` also to ``large-orders``. Malformed
events (bad JSON, a non-numeric price, no event time) go to the dead-letter topic
``orders-app.dlq`` with the reason, and the pipeline goes on.
"""

from __future__ import annotations

from headwater import App

INPUT_TOPIC = "orders"
TOTALS_TOPIC = "order-totals"
LARGE_TOPIC = "large-orders"
LARGE_ORDER = 500.0
REGIONS = {
    "DE": "EU",
    "FR": "EU",
    "NL": "EU",
    "ES": "EU",
    "US": "NA",
    "CA": "NA",
    "BR": "SA",
    "JP": "APAC",
    "IN": "APAC",
}
# Quick consumer-group joins on a single local broker; the librdkafka defaults take ~23 s there.
QUICK_GROUP_JOIN = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}


def region_of(order: dict[str, object]) -> dict[str, object]:
    """A row function: the region a country belongs to (``"other"`` when unknown)."""
    order["region"] = REGIONS.get(str(order.get("country")), "other")
    return order


def build_app(broker: str | None = None, name: str = "orders-app") -> App:
    """The order pipeline on ``broker`` (``HEADWATER_BROKER`` or localhost:9092 when None).

    >>> app = build_app("localhost:9092")
    >>> [n["kind"] for n in app.topology()["nodes"]]  # doctest: +NORMALIZE_WHITESPACE
    ['source', 'assign', 'filter', 'update', 'to_topic', 'filter', 'to_topic']
    """
    app = App(name, broker=broker, consumer_config=QUICK_GROUP_JOIN)
    orders = app.topic(INPUT_TOPIC, key="str", value="json", timestamp="event_time", partitions=3)
    totals = app.topic(TOTALS_TOPIC, key="str", value="json", partitions=3)
    large = app.topic(LARGE_TOPIC, key="str", value="json", partitions=3)

    sdf = app.dataframe(orders)
    sdf["total"] = (sdf["price"] * sdf["quantity"]).round(2)
    sdf = sdf[sdf["quantity"] > 0]
    sdf = sdf.update(region_of)
    sdf.to_topic(totals)
    sdf[sdf["total"] >= LARGE_ORDER].to_topic(large)
    return app
