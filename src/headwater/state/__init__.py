"""Keyed state: RocksDB stores per input partition, changelog topics, checkpoints, recovery."""

from headwater.state.changelog import ChangelogRecord, changelog_topic, read_key
from headwater.state.manager import StateManager
from headwater.state.recovery import RecoveryManager
from headwater.state.state import State
from headwater.state.store import PartitionStore

__all__ = [
    "ChangelogRecord",
    "PartitionStore",
    "RecoveryManager",
    "State",
    "StateManager",
    "changelog_topic",
    "read_key",
]
