"""Events: synthetic coffee-shop orders, about ten a second, a few malformed on purpose.

A source app: it reads no topic, so it is a plain script rather than an App. The malformed
orders end up in the features app's dead-letter topic, `{{ project }}-features.dlq`. Each
order carries a `producer` header naming this app.
"""

import os
import threading

from headwater.demo.generator import OrderGenerator, OrderProducer
from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings
from headwater.runtime.loop.status import StatusFile
from headwater.signals import on_stop_signals
from headwater.topic import Topic

ORDERS = Topic("{{ orders }}", partitions=3)
RATE = float(os.environ.get("EVENTS_PER_SECOND", "10"))

if __name__ == "__main__":
    settings = KafkaSettings()  # the deployment's cluster, from the environment
    TopicAdmin(settings).create([ORDERS])  # produce only to a topic that exists
    # Few customers, so every 5-second window has several orders per customer.
    generator = OrderGenerator(customers=10)
    headers = [("producer", b"{{ project }}-events")]
    producer = OrderProducer(
        settings, ORDERS.name, RATE, generator, on_error=print, headers=headers
    ).start()
    # Tell the platform this source runs: it has no consumer group to report partitions of.
    StatusFile("{{ project }}-events", outputs=[ORDERS.name]).write(set())
    stopped = threading.Event()
    on_stop_signals(lambda _: stopped.set())
    stopped.wait()
    producer.stop()
