"""Hello stream: read events, add a greeting to each, write them to another topic.

Run it with `headwater run app.py --broker HOST:PORT`; try it without a broker in a notebook:

    app.test({"{{ events }}": [{"name": "Ada"}]}).outputs["{{ greetings }}"]
"""

from typing import Any

from headwater import App

# The app's name is its consumer group and names its dead-letter topic ({{ project }}.dlq).
app = App("{{ project }}")
events = app.topic("{{ events }}", value="json")
greetings = app.topic("{{ greetings }}", value="json")


def greet(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "greeting": f"Hello, {event.get('name') or 'stranger'}!"}


sdf = app.dataframe(events)
sdf = sdf.apply(greet)
sdf.to_topic(greetings)

if __name__ == "__main__":
    app.run()
