"""The platform's web server: ``create_app`` builds the FastAPI app, ``serve`` runs it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI

from headwater.platform.api import (
    auth,
    canvas,
    clusters,
    deployments,
    graph,
    health,
    kafka_views,
    live,
    metrics,
    model_scores,
    models,
    preview,
    projects,
    pushes,
    secrets,
    steps,
    topics,
    users,
)
from headwater.platform.api.body_limit import BodyLimit
from headwater.platform.api.errors import install as install_errors
from headwater.platform.api.headers import SecurityHeaders
from headwater.platform.api.methods import AllowedMethods
from headwater.platform.auth.bootstrap import ADMIN_NAME, ensure_admin
from headwater.platform.context import build_context
from headwater.platform.data_dir import prepare_data_dir
from headwater.platform.db.session import Database
from headwater.platform.metrics import RequestMetrics, StepSampler, TopicSampler
from headwater.platform.migrations import upgrade
from headwater.platform.projects.git_http import GitHTTP
from headwater.platform.sandbox import Sandbox
from headwater.platform.settings import PlatformSettings
from headwater.platform.spa import install as install_webapp

# The request line and headers of one request, in bytes: room for a page cursor of a topic with
# a few hundred partitions (see GET /api/topics/{name}/records); a longer request is refused.
MAX_REQUEST_HEAD_BYTES = 64 * 1024
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

ROUTERS = (
    health,
    auth,
    users,
    clusters,
    secrets,
    topics,
    kafka_views,
    live,
    projects,
    pushes,
    preview,
    deployments,
    steps,
    metrics,
    graph,
    canvas,
    models,
    model_scores,
)


def api_app(lifespan: Lifespan | None = None) -> FastAPI:
    """Every route of the API, bound to no data directory yet: what the OpenAPI document
    describes (see openapi.py)."""
    from headwater import __version__

    app = FastAPI(
        title="Headwater platform",
        version=__version__,
        description=(
            "Projects as Git repositories, users and API tokens, Kafka clusters and secrets. "
            "Each route's `x-required-role` names the least role it needs."
        ),
        lifespan=lifespan,
    )
    install_errors(app)
    for module in ROUTERS:
        app.include_router(module.router)
    return app


def create_app(settings: PlatformSettings) -> FastAPI:
    """The API over ``settings.data_dir``: migrates the database and creates the first admin."""
    prepare_data_dir(settings.data_dir)
    sandbox = Sandbox.detect(settings.sandbox, hidden=(settings.data_dir,))
    db = Database(settings.url)
    upgrade(db.engine)
    generated = ensure_admin(db, settings.admin_password)
    if generated is not None:
        # Printed, never logged: this is the only place the password appears.
        print(
            f"headwater: created user {ADMIN_NAME!r} with password {generated} "
            "(shown once: change it after logging in)",
            file=sys.stderr,
            flush=True,
        )
    context = build_context(settings, db, sandbox)
    prepare_data_dir(settings.data_dir)  # again: the database and key file exist now

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Deployments come back to their desired state; no replica outlives the server.
        context.supervisor.start()
        sampler = TopicSampler(context.clusters, context.metrics.store, context.topic_rates)
        sampler.start()
        step_sampler = StepSampler(
            context.supervisor, context.step_rates, context.app_inside, models=context.model_scores
        )
        step_sampler.start()
        await asyncio.to_thread(context.deployments.reconcile)
        try:
            yield
        finally:
            await asyncio.to_thread(sampler.stop)
            await asyncio.to_thread(step_sampler.stop)
            await asyncio.to_thread(context.supervisor.shutdown)
            db.dispose()

    app = api_app(lifespan)
    app.state.platform = context
    app.add_middleware(AllowedMethods, routes=[r for m in ROUTERS for r in m.router.routes])
    app.add_middleware(
        BodyLimit, max_file_bytes=settings.max_file_bytes, streamed=models.UPLOAD_PATH
    )
    app.add_middleware(RequestMetrics, metrics=context.metrics)
    app.add_middleware(SecurityHeaders)
    git = GitHTTP(context.projects, context.tokens, context.db, settings)
    app.mount("/git", WSGIMiddleware(git))  # type: ignore[arg-type]
    install_webapp(app)  # last: its catch-all must not shadow any route above
    return app


def serve(
    settings: PlatformSettings,
    host: str = "127.0.0.1",
    port: int = 8080,
    trusted_proxies: str | None = None,
) -> None:
    """Run the server until Ctrl-C or SIGTERM. ``X-Forwarded-For`` is believed only from
    ``trusted_proxies`` (addresses, comma-separated): otherwise any local process could pick
    the address that login limits count."""
    import uvicorn

    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=trusted_proxies is not None,
        forwarded_allow_ips=trusted_proxies or "",
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
    )
