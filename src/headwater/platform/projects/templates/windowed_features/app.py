"""Windowed features: per-user running features of purchase events.

Each purchase `{"user": ..., "amount": ...}` becomes the user's features so far: how many
purchases, their total and mean amount, and the largest one. Try it in a notebook:

    app.test({"purchases": [{"user": "ann", "amount": 12.5}]}).outputs["user-features"]
"""

from headwater import App, agg

app = App("windowed-features")
purchases = app.topic("purchases", value="json")
features = app.topic("user-features", value="json")

sdf = app.dataframe(purchases)
sdf = sdf[sdf["amount"] > 0]
per_user = sdf.group_by("user").agg_running(
    purchases=agg.count(),
    total=agg.sum("amount"),
    mean_amount=agg.mean("amount"),
    max_amount=agg.max("amount"),
)
per_user.to_topic(features)

if __name__ == "__main__":
    app.run()
