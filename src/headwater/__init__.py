"""Headwater: a pure-Python stream processor on Kafka with columnar micro-batches."""

from headwater.app import App
from headwater.dataframe import Column, StreamingDataFrame, col, lit, windows
from headwater.dataframe import aggregations as agg
from headwater.errors import (
    BrokerError,
    ConfigError,
    HeadwaterError,
    MissingTopicError,
    PipelineError,
    SerializationError,
)
from headwater.kafka.settings import KafkaSettings
from headwater.topic import Topic

__all__ = [
    "App",
    "BrokerError",
    "Column",
    "ConfigError",
    "HeadwaterError",
    "KafkaSettings",
    "MissingTopicError",
    "PipelineError",
    "SerializationError",
    "StreamingDataFrame",
    "Topic",
    "agg",
    "col",
    "lit",
    "windows",
]
__version__ = "0.1.0"
