"""An order pipeline: enrich order events, route large orders, dead-letter malformed ones.

Each order event is enriched with its total and region; every valid order goes to
``order-totals``, orders worth at least ``LARGE_ORDER`` also to ``large-orders``. Malformed
events (bad JSON, a non-numeric price, no event time) go to the dead-letter topic
``orders-app.dlq`` with the reason, and the pipeline goes on.

``headwater demo`` runs this very file against a local broker, with synthetic orders. Run it
yourself against a broker (the topic ``orders`` must exist)::

    headwater broker &
    headwater topics create orders --partitions 3
    headwater run examples/orders/app.py
    headwater tail order-totals

Try it without a broker::

    app.test({"orders": [{"customer_id": "c1", "price": 300.0, "quantity": 2,
                          "country": "DE", "event_time": 0}]}).outputs["large-orders"]
"""

from headwater import App

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


def region_of(order: dict[str, object]) -> dict[str, object]:
    """A row function: the region a country belongs to (``"other"`` when unknown)."""
    order["region"] = REGIONS.get(str(order.get("country")), "other")
    return order


# The broker comes from --broker or HEADWATER_BROKER (localhost:9092 by default). Quick
# consumer-group joins on a single local broker; the librdkafka defaults take ~23 s there.
app = App("orders-app", consumer_config={"session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
orders = app.topic("orders", key="str", value="json", timestamp="event_time", partitions=3)
totals = app.topic("order-totals", key="str", value="json", partitions=3)
large = app.topic("large-orders", key="str", value="json", partitions=3)

sdf = app.dataframe(orders)
sdf["total"] = (sdf["price"] * sdf["quantity"]).round(2)
sdf = sdf[sdf["quantity"] > 0]
sdf = sdf.update(region_of)
sdf.to_topic(totals)
sdf[sdf["total"] >= LARGE_ORDER].to_topic(large)

if __name__ == "__main__":
    app.run()
