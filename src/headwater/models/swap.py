"""A registry model that follows its alias: the model step asks it for the live version before
each batch, so a promotion reaches a running pipeline between two batches, without a restart.

The check is one ``stat`` of the alias file per batch. A new version is loaded before it
replaces the old one: a batch is scored whole by one version, and a version that cannot be
loaded leaves the previous one scoring (the log says why) until the alias moves again.
"""

from __future__ import annotations

import logging

from headwater.models.loading import load_model
from headwater.models.model import Model
from headwater.models.registry import ModelReference, RegisteredVersion, RegistryFolder

log = logging.getLogger("headwater.models")


class RegistryModel:
    """The version of ``reference`` that is live now, loaded."""

    def __init__(self, reference: ModelReference, folder: RegistryFolder | None = None) -> None:
        self.reference = reference
        self.folder = folder or RegistryFolder.from_environment(reference)
        self._stamp = self.folder.aliases_stamp(reference.name)
        self.version, self.model = self._load(self.folder.resolve(reference))

    def current(self) -> tuple[int, Model]:
        """The live version and its model, after loading a new one if the alias moved."""
        if self.reference.alias is None:
            return self.version, self.model
        stamp = self.folder.aliases_stamp(self.reference.name)
        if stamp == self._stamp:
            return self.version, self.model
        self._stamp = stamp
        try:
            version = self.folder.version_of(self.reference)
            if version != self.version:
                self.version, self.model = self._load(self.folder.get(self.reference.name, version))
                log.info("model %s: now scoring with version %d", self.reference, version)
        except Exception as exc:  # a version that cannot load must not stop the stream
            log.error("model %s: keeps version %d: %s", self.reference, self.version, exc)
        return self.version, self.model

    @staticmethod
    def _load(found: RegisteredVersion) -> tuple[int, Model]:
        features = list(found.features) or None
        return found.version, load_model(found.path, framework=found.framework, features=features)
