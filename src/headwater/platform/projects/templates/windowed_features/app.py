"""Windowed features: per-user purchase features over event-time windows.

Each purchase `{"user": ..., "amount": ..., "ts": epoch ms}` counts in its user's 1-minute
tumbling window; when the watermark passes a window's end, the user's features for that
minute are written: how many purchases, their total and mean amount, and the largest one.
Try it in a notebook:

    app.test({"{{ purchases }}": [{"user": "ann", "amount": 12.5, "ts": 0}]}).outputs[
        "{{ features }}"
    ]
"""

from headwater import App, agg, windows

# The app's name is its consumer group and names its state and dead-letter topics.
app = App("{{ project }}")
purchases = app.topic("{{ purchases }}", value="json", timestamp="ts")
features = app.topic("{{ features }}", value="json")

sdf = app.dataframe(purchases).with_watermarks("5s", idle_timeout="1m")
sdf = sdf[sdf["amount"] > 0]
per_user = (
    sdf.group_by("user")
    .window(windows.tumbling("1m"))
    .agg(
        purchases=agg.count(),
        total=agg.sum("amount"),
        mean_amount=agg.mean("amount"),
        max_amount=agg.max("amount"),
    )
)
per_user.to_topic(features)

if __name__ == "__main__":
    app.run()
