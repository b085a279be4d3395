"""Every error Headwater raises on purpose; each message says what was wrong and how to fix it."""

from __future__ import annotations


class HeadwaterError(Exception):
    """Base class of Headwater's own errors."""


class ConfigError(HeadwaterError, ValueError):
    """A setting, argument or pipeline definition is invalid."""


class BrokerError(HeadwaterError):
    """The Kafka cluster is unreachable or refused an operation."""


class TopicExistsError(ConfigError):
    """A topic to create exists already."""


class MissingTopicError(HeadwaterError):
    """An input or output topic does not exist on the cluster."""


class SerializationError(HeadwaterError):
    """A key or value could not be encoded or decoded."""


class PipelineError(HeadwaterError):
    """A record made an operator fail while the app runs with ``on_error="raise"``."""


class StateError(HeadwaterError):
    """A state store was used wrongly (bad key or value, store not ready, checkpoint order)."""


class LookupFailed(HeadwaterError):
    """An external store of a lookup kept failing after its retries."""
