"""A fake of the part of ``kubernetes.dynamic.DynamicClient`` the platform's applier uses.

No Kubernetes cluster runs where the tests run; this keeps applied objects in a dict (merging a
later apply into them, as server-side apply does for one field manager) and serves pods the
test sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class NotFoundError(Exception):
    status = 404


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str


class Resources:
    def get(self, api_version: str, kind: str) -> Resource:
        return Resource(api_version, kind)


@dataclass
class FakeDynamicApi:
    """Keeps applied objects by (kind, namespace, name); merges a later apply into them."""

    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    applied: list[tuple[str, str, str | None]] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)

    def server_side_apply(
        self,
        resource: Resource,
        body: dict[str, Any] | None = None,
        name: str | None = None,
        namespace: str | None = None,
        force_conflicts: bool | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        assert body is not None and name is not None and namespace is not None
        assert (body["kind"], body["apiVersion"]) == (resource.kind, resource.api_version)
        self.applied.append((resource.kind, name, kwargs.get("field_manager")))
        key = (resource.kind, namespace, name)
        self.objects[key] = _merge(self.objects.get(key, {}), body)
        return self.objects[key]

    def get(
        self, resource: Resource, name: str | None = None, namespace: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        if resource.kind == "Pod":
            return {"items": self.pods}
        key = (resource.kind, namespace or "", name or "")
        if key not in self.objects:
            raise NotFoundError(name)
        return self.objects[key]

    def delete(
        self, resource: Resource, name: str | None = None, namespace: str | None = None, **kw: Any
    ) -> None:
        if self.objects.pop((resource.kind, namespace or "", name or ""), None) is None:
            raise NotFoundError(name)


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
