"""Synthetic order events for the demo: valid orders, and now and then a malformed one.

Malformed events are deliberate: they show the dead-letter topic at work. Three kinds come in
turn: a value that is not JSON, JSON that is not an object, and an order without event time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import Producer

from headwater.kafka.settings import KafkaSettings

PRODUCTS = {
    "espresso machine": 289.0,
    "grinder": 129.0,
    "kettle": 39.9,
    "mug": 9.5,
    "beans 1kg": 24.0,
    "milk frother": 59.0,
    "scale": 44.0,
}
COUNTRIES = ["DE", "FR", "NL", "ES", "US", "CA", "BR", "JP", "IN", "ZA"]
MALFORMED = ("not-json", "not-an-object", "no-event-time")


@dataclass(frozen=True)
class OrderEvent:
    """One event ready to produce: the key (customer id) and the encoded value."""

    key: bytes
    value: bytes
    malformed: str | None = None


class OrderGenerator:
    """Deterministic for a given ``seed``; one in ``malformed_every`` events is malformed.

    >>> gen = OrderGenerator(seed=1)
    >>> event = gen.next_event(now_ms=1_764_000_000_000)
    >>> sorted(orjson.loads(event.value))  # doctest: +NORMALIZE_WHITESPACE
    ['country', 'customer_id', 'event_time', 'order_id', 'price', 'product', 'quantity']
    """

    def __init__(self, seed: int | None = None, customers: int = 50, malformed_every: int = 20):
        if malformed_every < 2:
            raise ValueError("malformed_every must be >= 2 so most events are valid")
        self._random = random.Random(seed)
        self._customers = customers
        self._malformed_every = malformed_every
        self._count = 0

    def next_event(self, now_ms: int | None = None) -> OrderEvent:
        self._count += 1
        rnd = self._random
        product = rnd.choice(list(PRODUCTS))
        customer = f"customer-{rnd.randrange(self._customers):03d}"
        order: dict[str, Any] = {
            "order_id": self._count,
            "customer_id": customer,
            "product": product,
            "price": round(PRODUCTS[product] * rnd.uniform(0.9, 1.1), 2),
            "quantity": rnd.choice([1, 1, 1, 2, 2, 3, 5]),
            "country": rnd.choice(COUNTRIES),
            "event_time": int(time.time() * 1000) if now_ms is None else now_ms,
        }
        kind = None
        if self._count % self._malformed_every == 0:
            kind = MALFORMED[(self._count // self._malformed_every - 1) % len(MALFORMED)]
        key = customer.encode()
        if kind == "not-json":
            return OrderEvent(key, orjson.dumps(order)[:-9], kind)  # cut off mid-value
        if kind == "not-an-object":
            return OrderEvent(key, orjson.dumps(list(order.values())), kind)
        if kind == "no-event-time":
            del order["event_time"]
        return OrderEvent(key, orjson.dumps(order), kind)


class OrderProducer:
    """Produces generated orders to ``topic`` at about ``rate`` events per second, in a thread,
    each with ``headers``."""

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        rate: float,
        generator: OrderGenerator | None = None,
        on_error: Callable[[str], None] | None = None,
        headers: list[tuple[str, str | bytes | None]] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 events per second")
        self.topic = topic
        self.rate = rate
        self.produced = 0
        self._generator = generator or OrderGenerator()
        self._producer = Producer(settings.client_config(**{"linger.ms": 5}))
        self._on_error = on_error
        self._headers = list(headers or [])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="order-producer", daemon=True)

    def start(self) -> OrderProducer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._producer.flush(timeout)
        self._producer.close()  # an open connection makes the broker's shutdown wait

    def _report(self, err: Any, _msg: Any) -> None:
        if err is not None and self._on_error is not None:
            self._on_error(f"could not produce an order: {err.str()}")

    def _run(self) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set():
            event = self._generator.next_event()
            self._producer.produce(
                self.topic,
                event.value,
                event.key,
                headers=self._headers or None,
                on_delivery=self._report,
            )
            self.produced += 1
            self._producer.poll(0)
            next_at += interval
            # Waiting on the stop event paces the events and still stops at once.
            self._stop.wait(max(0.0, next_at - time.monotonic()))
