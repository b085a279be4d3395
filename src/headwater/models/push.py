"""Uploading a model to the platform's registry from a notebook or the CLI.

``push_model`` sends a model file, or a folder (an MLflow model) packed as a .tar.gz, to
``POST /api/projects/{project}/models/{name}/versions`` with the user's API token; the platform
loads it in its sandbox before it keeps it.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.errors import ConfigError, HeadwaterError

if TYPE_CHECKING:
    import httpx

URL_ENV = "HEADWATER_URL"
TOKEN_ENV = "HEADWATER_TOKEN"
DEFAULT_URL = "http://localhost:8080"


class PushError(HeadwaterError):
    """The platform refused the upload; the message is its answer (what to fix)."""


def push_model(
    path: str | Path,
    project: str,
    name: str,
    *,
    url: str | None = None,
    token: str | None = None,
    framework: str | None = None,
    features: Sequence[str] | None = None,
    metrics: Mapping[str, float] | None = None,
    description: str = "",
    alias: str | None = None,
    timeout: float = 300.0,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """Upload the model at ``path`` as the next version of ``name`` in ``project``; returns the
    version the platform stored (its number, framework, features...).

    ``url`` and ``token`` default to ``$HEADWATER_URL`` (else http://localhost:8080) and
    ``$HEADWATER_TOKEN`` (an API token made in the platform's user menu or POST /api/tokens).
    ``alias`` (e.g. ``"staging"``) moves that alias to the new version. ``client`` sends the
    request through an ``httpx.Client`` of yours (proxies, certificates), at its ``base_url``
    unless ``url`` is given.
    """
    import httpx

    source = Path(path)
    if not source.exists():
        raise ConfigError(f"model: {source} does not exist")
    chosen_token = token or os.environ.get(TOKEN_ENV)
    if not chosen_token:
        raise ConfigError(
            f"pushing a model needs an API token: pass token=..., or set {TOKEN_ENV} "
            "(create one in the platform: user menu, API tokens)"
        )
    own_base = str(client.base_url) if client is not None and str(client.base_url) else None
    base = (url or own_base or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
    if source.is_dir():
        filename, data = f"{source.name}.tar.gz", _packed(source)
    else:
        filename, data = source.name, source.read_bytes()
    params: dict[str, str] = {"filename": filename, "description": description}
    if framework is not None:
        params["framework"] = framework
    if features is not None:
        params["features"] = ",".join(features)
    if metrics is not None:
        params["metrics"] = json.dumps(dict(metrics))
    if alias is not None:
        params["alias"] = alias
    try:
        send = client.post if client is not None else httpx.post
        response = send(
            f"{base}/api/projects/{project}/models/{name}/versions",
            content=data,
            params=params,
            headers={
                "Authorization": f"Bearer {chosen_token}",
                "Content-Type": "application/octet-stream",
            },
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise PushError(f"cannot reach the platform at {base} ({exc}); is it running?") from None
    if response.status_code != 201:
        raise PushError(
            f"the platform refused the model ({response.status_code}): {_detail(response)}"
        )
    answer: dict[str, Any] = response.json()
    return answer


def _packed(folder: Path) -> bytes:
    """``folder`` as a .tar.gz holding the folder itself (the platform keeps its name)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(folder, arcname=folder.name)
    return buffer.getvalue()


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return str(response.text)[:500]
