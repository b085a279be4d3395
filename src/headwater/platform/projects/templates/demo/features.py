"""Features: per-customer order features over 5-second tumbling windows of event time.

Each order `{"customer_id", "price", "quantity", "event_time": epoch ms, ...}` counts in its
customer's window; when the watermark passes a window's end, the customer's features for it
are written: number of orders, total spend and the largest order. Try it in a notebook:

    app.test({"{{ orders }}": [
        {"customer_id": "c1", "price": 9.5, "quantity": 2, "event_time": 0}
    ]}).outputs["{{ features }}"]
"""

from headwater import App, agg, windows

# Quick consumer-group joins, so results show within seconds of a (re)start.
app = App(
    "{{ project }}-features",
    consumer_config={"session.timeout.ms": 6000, "heartbeat.interval.ms": 500},
)
orders = app.topic("{{ orders }}", key="str", value="json", timestamp="event_time", partitions=3)
features = app.topic("{{ features }}", key="str", value="json", partitions=3)

# Orders may arrive 1 s out of order; a silent partition stops holding windows open after 5 s,
# and with no orders at all for 10 s the last windows close anyway.
sdf = app.dataframe(orders).with_watermarks("1s", idle_timeout="5s", advance_when_quiet="10s")
sdf["total"] = (sdf["price"] * sdf["quantity"]).round(2)
per_customer = (
    sdf.group_by("customer_id", repartition=False)  # orders are keyed by customer already
    .window(windows.tumbling("5s"))
    .agg(orders=agg.count(), spend=agg.sum("total"), largest=agg.max("total"))
)
per_customer.to_topic(features)

if __name__ == "__main__":
    app.run()
