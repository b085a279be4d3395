"""``headwater up``: a local broker, the platform server and, on a new platform, the live demo.

Everything this starts stops with it: the server stops the deployments' replicas on its way
out, and the broker goes last. A signal during set-up interrupts it the same way, so no
process outlives ``up`` whatever the moment of Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy import select

from headwater.errors import BrokerError, ConfigError
from headwater.kafka.broker import free_port
from headwater.kafka.tansu import TansuBroker
from headwater.platform.auth.bootstrap import ADMIN_NAME, ensure_admin
from headwater.platform.context import PlatformContext
from headwater.platform.db.models import Deployment
from headwater.platform.db.session import Database
from headwater.platform.demo_project import (
    DEMO_PROJECT,
    SCORES_TOPIC,
    create_demo,
    create_demo_topics,
    demo_exists,
)
from headwater.platform.domain.clusters import DEFAULT_CLUSTER
from headwater.platform.migrations import upgrade
from headwater.platform.server import MAX_REQUEST_HEAD_BYTES, create_app
from headwater.platform.settings import ADMIN_PASSWORD_ENV, PlatformSettings
from headwater.signals import on_stop_signals

DEFAULT_BROKER_PORT = 9092


@dataclass(frozen=True)
class UpOptions:
    data_dir: Path
    broker: str | None = None  # None: start a local broker
    host: str = "127.0.0.1"
    port: int = 8080
    demo: bool = True

    def __post_init__(self) -> None:
        # Absolute once, here: the broker, the server and each replica run in folders of
        # their own, and must all find the same data directory.
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().resolve())


def run_up(options: UpOptions, out: TextIO | None = None) -> None:
    """Run the platform until Ctrl-C or SIGTERM, then stop everything it started."""
    out = out or sys.stderr
    listener = listen(options.host, options.port)  # first: a taken port starts nothing
    options.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    broker: TansuBroker | None = None
    context: PlatformContext | None = None
    restore = on_stop_signals(_interrupt)  # until the server takes the signals over
    try:
        bootstrap = options.broker
        if bootstrap is None:
            broker = _start_broker(options.data_dir / "broker.log")
            bootstrap = broker.bootstrap_servers
        settings = PlatformSettings(data_dir=options.data_dir)
        password = _first_admin(settings)
        app = create_app(settings)
        context = app.state.platform
        cluster_note = _use_cluster(context, bootstrap)
        if broker is not None:
            _clear_local_state(context)
        demo_apps: list[str] = []
        new_demo = options.demo and not context.projects.list()
        if new_demo or demo_exists(context.projects):
            # Before any app of the demo runs: an app refuses to start without its inputs.
            create_demo_topics(context.clusters.resolve(DEFAULT_CLUSTER)[1])
        if new_demo:
            demo_apps = create_demo(context.projects, context.deployments, ADMIN_NAME)
        _banner(out, options, bootstrap, broker is not None, password, cluster_note, demo_apps)
        _serve(app, listener)
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        restore()
        # A second Ctrl-C must not cut the clean-up short: each step has its own deadline.
        unquiet = on_stop_signals(lambda _: None)
        try:
            if context is not None:
                context.supervisor.shutdown()  # at once when the server stopped them already
            if broker is not None:
                broker.stop()
        finally:
            unquiet()
        print("headwater up: stopped", file=out, flush=True)


def _interrupt(_: signal.Signals) -> None:
    raise KeyboardInterrupt


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, bound now and handed to the server later.

    SO_REUSEADDR, as every server sets it: connections of a run stopped seconds ago linger in
    TIME-WAIT, and without it the port would look taken although the server could bind it.
    A port another process listens on is still refused.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another with --port"
        ) from None
    return sock


def _start_broker(log_path: Path) -> TansuBroker:
    """The local broker on the usual Kafka port when it is free, else on any free port (also
    when another process takes the usual one between the check and the start)."""
    with socket.socket() as sock:
        # As the broker itself binds: the last run's connections in TIME-WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", DEFAULT_BROKER_PORT))
            port = DEFAULT_BROKER_PORT
        except OSError:
            port = free_port()
    try:
        return TansuBroker(port, log_path=log_path).start()
    except BrokerError:
        if port != DEFAULT_BROKER_PORT:
            raise
        return TansuBroker(free_port(), log_path=log_path).start()


def _first_admin(settings: PlatformSettings) -> str | None:
    """Create the first admin now, so the banner can show a generated password (once)."""
    db = Database(settings.url)
    try:
        upgrade(db.engine)
        return ensure_admin(db, settings.admin_password)
    finally:
        db.dispose()


def _use_cluster(context: PlatformContext, bootstrap: str) -> str:
    """Point the cluster named ``default`` at ``bootstrap``, creating it if needed."""
    previous = context.clusters.use(DEFAULT_CLUSTER, bootstrap)
    if previous is None:
        return f"registered as cluster {DEFAULT_CLUSTER!r}"
    if previous == bootstrap:
        return f"cluster {DEFAULT_CLUSTER!r}"
    return f"cluster {DEFAULT_CLUSTER!r} (moved from {previous})"


def _clear_local_state(context: PlatformContext) -> None:
    """Drop the replicas' working copies of deployments on the local broker, state included.

    The broker starts empty, so the state they hold mirrors changelog topics that are gone;
    each replica starts from a fresh copy of its commit and builds its state anew.
    """
    with context.db.session() as session:
        rows = session.scalars(select(Deployment).where(Deployment.cluster == DEFAULT_CLUSTER))
        folders = [context.deployments.folder(row) / "replicas" for row in rows]
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def _serve(app: object, listener: socket.socket) -> None:
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # The first signal stops gracefully (replicas commit), a second one at once.
            def stop(_: signal.Signals) -> None:
                self.force_exit = self.should_exit
                self.should_exit = True

            restore = on_stop_signals(stop)
            try:
                yield
            finally:
                restore()

    # Warnings only: request lines would bury the banner.
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        log_level="warning",
        proxy_headers=False,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
    )
    server = Server(config)
    server.run(sockets=[listener])


def _banner(
    out: TextIO,
    options: UpOptions,
    bootstrap: str,
    local_broker: bool,
    password: str | None,
    cluster_note: str,
    demo_apps: list[str],
) -> None:
    host = "localhost" if options.host in ("127.0.0.1", "0.0.0.0", "::") else options.host
    if password is not None:
        login = f"user {ADMIN_NAME!r}, password {password} (shown once: change it after logging in)"
    elif os.environ.get(ADMIN_PASSWORD_ENV):
        login = f"user {ADMIN_NAME!r}, password from ${ADMIN_PASSWORD_ENV} on first start"
    else:
        login = f"user {ADMIN_NAME!r} (password as set on first start)"
    kind = "local broker, in memory: topics are lost when up stops" if local_broker else "given"
    lines = [
        f"Headwater is up: http://{host}:{options.port}",
        f"  log in:  {login}",
        f"  broker:  {bootstrap} ({kind}), {cluster_note}",
        f"  data:    {options.data_dir}",
    ]
    if demo_apps:
        apps = ", ".join(demo_apps)
        lines.append(f"  demo:    project {DEMO_PROJECT!r} created, apps deployed: {apps}")
    lines += [
        f"  watch:   headwater tail {SCORES_TOPIC} --broker {bootstrap}",
        "Ctrl-C stops the server, every app it runs and the local broker.",
    ]
    print("\n".join(lines), file=out, flush=True)
