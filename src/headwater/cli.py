"""The ``headwater`` command: run an app, run a local broker, manage and tail topics, the demo.

Exit codes: 0 success (Ctrl-C on a long-running command is a normal stop), 1 a runtime failure
(unreachable broker, missing topic, a failing pipeline), 2 a usage error.
"""

from __future__ import annotations

import argparse
import logging
import os
import runpy
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from headwater.errors import ConfigError, HeadwaterError
from headwater.signals import on_stop_signals

EPILOG = "Run `headwater COMMAND --help` for a command's options and examples."
SERDE_NAMES = ("json", "str", "bytes", "int", "float")
# librdkafka logs every failed connection; the error we raise already says it.
_LIBRDKAFKA_LOG = logging.getLogger("headwater.librdkafka")


class UsageError(Exception):
    """A command-line mistake found after parsing; reported with exit code 2."""


# Argument types: each error names what is expected, argparse adds the argument's name.
def broker_address(text: str) -> str:
    for server in text.split(","):
        host, sep, port = server.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise argparse.ArgumentTypeError(
                f"{text!r} is not HOST:PORT[,HOST:PORT...], e.g. localhost:9092"
            )
    return text


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


def until_value(text: str) -> str:
    """``end`` or a time (checked here, so a typo fails before the app starts)."""
    from headwater.errors import ConfigError
    from headwater.runtime.loop.bounds import parse_until

    try:
        parse_until(text, "--until")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--until: ")) from None
    return text


def port_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 1-65535, got {text!r}")
    return int(text)


def listen_address(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:9400 (port 0 picks a free port)"
        )
    return text


def folder_path(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file; give a folder")
    return path


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not KEY=VALUE, e.g. cleanup.policy=compact or retention.ms=86400000"
        )
    return key.strip(), value.strip()


# The parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headwater",
        description="Headwater: a pure-Python stream processor for Kafka.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"headwater {_version()}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run a Headwater app file",
        description=(
            'Run a Headwater app. If the file has an `if __name__ == "__main__":` block it '
            "runs as a script (like `python app.py`); otherwise its module-level `app` runs. "
            "Ctrl-C or SIGTERM stops the app after its current batch, committed."
        ),
        epilog="example: headwater run examples/orders/app.py --broker localhost:9092",
    )
    run.add_argument("path", metavar="APP", type=Path, help="the app's Python file")
    _broker_option(run, "the cluster the app connects to unless it names one itself")
    run.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        type=listen_address,
        help="serve the records in and out of each step as Prometheus counters at "
        "http://HOST:PORT/metrics (port 0 picks a free one; default: "
        "$HEADWATER_METRICS_ADDRESS, else none)",
    )
    run.add_argument(
        "--until",
        metavar="end|TIME",
        type=until_value,
        help="a bounded run: read every input to the end it has now ('end'), or also stop "
        "each partition at its first record past TIME (epoch ms or ISO 8601); then close every "
        "window, fire every timer, commit and exit 0",
    )
    run.set_defaults(handler=cmd_run, parser=run)

    broker = commands.add_parser(
        "broker",
        help="run a local Kafka-protocol broker for development",
        description=(
            "Run a local broker in the foreground until Ctrl-C or SIGTERM. By default Tansu, "
            "which needs no JVM and keeps topics in memory (lost when it stops). With --apache, "
            "Apache Kafka, the reference broker (needs Java 17+; the first start fetches its "
            "jars with Maven)."
        ),
        epilog="example: headwater broker --port 9092 | headwater broker --apache --data-dir kafka",
    )
    broker.add_argument("--port", type=port_number, default=9092, help="port (default 9092)")
    broker.add_argument("--log", type=Path, help="append the broker's own log to this file")
    broker.add_argument(
        "--apache",
        dest="kind",
        action="store_const",
        const="apache",
        default="tansu",
        help="run Apache Kafka instead of Tansu",
    )
    broker.add_argument(
        "--data-dir",
        type=Path,
        help="with --apache: keep topics in this folder across restarts (default: a temporary one)",
    )
    broker.set_defaults(handler=cmd_broker, parser=broker)

    _add_topics(commands)
    _add_tail(commands)
    _add_state(commands)

    demo = commands.add_parser(
        "demo",
        help="run the live demo: broker, order events, the order pipeline",
        description=(
            "Start a local broker, produce synthetic order events (a few malformed, for the "
            "dead-letter topic), run the example order pipeline and print its output records "
            "as JSON lines. Ctrl-C stops everything."
        ),
        epilog="example: headwater demo --rate 20",
    )
    demo.add_argument("--port", type=port_number, default=9092, help="broker port (default 9092)")
    demo.add_argument(
        "--rate", type=positive_float, default=5.0, help="order events per second (default 5)"
    )
    demo.set_defaults(handler=cmd_demo, parser=demo)
    _add_server(commands)
    _add_up(commands)
    _add_models(commands)
    _add_deploy(commands)
    return parser


def _broker_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--broker",
        type=broker_address,
        metavar="HOST:PORT",
        help=f"{what} (default: $HEADWATER_BROKER, else localhost:9092)",
    )


def _client_options(parser: argparse.ArgumentParser) -> None:
    _broker_option(parser, "bootstrap servers")
    parser.add_argument(
        "-X",
        "--kafka-option",
        type=key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a librdkafka setting, e.g. security.protocol=SASL_SSL (repeatable)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the cluster (default 10)",
    )


def _add_topics(commands: Any) -> None:
    topics = commands.add_parser(
        "topics",
        help="list, create and delete topics",
        description="List, create and delete topics on a Kafka cluster.",
        epilog="example: headwater topics create orders --partitions 3",
    )
    actions = topics.add_subparsers(dest="action", metavar="ACTION", required=True)

    ls = actions.add_parser(
        "list",
        help="list topics and their partition counts",
        description="List topics (name and partitions), sorted by name.",
        epilog="example: headwater topics list --json",
    )
    ls.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    ls.add_argument("--internal", action="store_true", help="include internal topics (__...)")
    _client_options(ls)
    ls.set_defaults(handler=cmd_topics_list, parser=ls)

    create = actions.add_parser(
        "create",
        help="create a topic",
        description="Create a topic with explicit partitions, replication and configs.",
        epilog=(
            "example: headwater topics create customers --partitions 3 "
            "--config cleanup.policy=compact --config retention.ms=604800000"
        ),
    )
    create.add_argument("name", metavar="NAME", help="the topic name")
    create.add_argument(
        "--partitions", type=positive_int, default=1, help="number of partitions (default 1)"
    )
    create.add_argument(
        "--replication", type=positive_int, default=1, help="replication factor (default 1)"
    )
    create.add_argument(
        "--config",
        type=key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a topic config, e.g. cleanup.policy=compact or retention.ms=86400000 (repeatable)",
    )
    _client_options(create)
    create.set_defaults(handler=cmd_topics_create, parser=create)

    delete = actions.add_parser(
        "delete",
        help="delete topics (needs --yes)",
        description="Delete topics and every record in them. Needs --yes.",
        epilog="example: headwater topics delete old-orders scratch --yes",
    )
    delete.add_argument("names", metavar="NAME", nargs="+", help="topics to delete")
    delete.add_argument("--yes", action="store_true", help="confirm: the records are lost")
    _client_options(delete)
    delete.set_defaults(handler=cmd_topics_delete, parser=delete)


def _add_tail(commands: Any) -> None:
    tail = commands.add_parser(
        "tail",
        help="print a topic's records live, decoded",
        description=(
            "Print records as JSON lines (topic, partition, offset, timestamp, key, value)\n"
            "as they arrive. Reads partitions directly: no consumer group, nothing\n"
            "committed. Ctrl-C stops."
        ),
        epilog=(
            "examples: headwater tail orders\n"
            "          headwater tail orders --from beginning --limit 10\n"
            "          headwater tail orders-app.dlq --from beginning --value str --headers"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tail.add_argument("topics", metavar="TOPIC", nargs="+", help="topics to read")
    tail.add_argument(
        "--from",
        dest="start",
        choices=("latest", "beginning"),
        default="latest",
        help="start at new records (latest, the default) or at the first one (beginning)",
    )
    tail.add_argument(
        "--key", choices=SERDE_NAMES, default="str", help="how keys are encoded (default str)"
    )
    tail.add_argument(
        "--value", choices=SERDE_NAMES, default="json", help="how values are encoded (default json)"
    )
    tail.add_argument("--limit", type=positive_int, help="stop after this many records")
    tail.add_argument(
        "--exit-at-end",
        action="store_true",
        help="stop once every partition has been read to its end",
    )
    tail.add_argument("--headers", action="store_true", help="include record headers")
    _client_options(tail)
    tail.set_defaults(handler=cmd_tail, parser=tail)


def _add_state(commands: Any) -> None:
    state = commands.add_parser(
        "state",
        help="inspect an app's state stores",
        description="Read an app's state from its changelog topics, without stopping the app.",
        epilog="example: headwater state get orders-app totals alice",
    )
    actions = state.add_subparsers(dest="action", metavar="ACTION", required=True)
    get = actions.add_parser(
        "get",
        help="print a key's current state as JSON",
        description=(
            "Print every value the store holds for KEY as a JSON object (`{}` when it holds "
            "none), as of the app's last checkpoint. Reads the store's changelog topic to its "
            "end: no consumer group, nothing committed."
        ),
        epilog="example: headwater state get orders-app totals alice --broker localhost:9092",
    )
    get.add_argument("app", metavar="APP", help="the app's name (its consumer group)")
    get.add_argument("store", metavar="STORE", help="the store's name")
    get.add_argument("key", metavar="KEY", help="the record key, as text (42 and '42' match)")
    _client_options(get)
    get.set_defaults(handler=cmd_state_get, parser=get)


def _add_models(commands: Any) -> None:
    models = commands.add_parser(
        "models",
        help="the platform's model registry",
        description="Upload models to a project's registry on the platform.",
        epilog="example: headwater models push fraud.joblib --project shop --name fraud",
    )
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)
    push = actions.add_parser(
        "push",
        help="upload a model file or folder as a new version",
        description=(
            "Upload a model file (.joblib, .onnx, .ubj, .lgb...) or a model folder (MLflow) "
            "as the next version of a project's model. The platform loads it before keeping "
            "it and prints what it found; `--alias staging` also moves that alias to it. "
            "Authenticates with an API token: --token or $HEADWATER_TOKEN."
        ),
        epilog=(
            "example: headwater models push model.joblib --project shop --name fraud "
            "--metrics '{\"auc\": 0.93}' --alias staging"
        ),
    )
    push.add_argument("path", type=Path, metavar="PATH", help="the model file or folder")
    push.add_argument("--project", required=True, help="the project's name")
    push.add_argument("--name", required=True, help="the model's name in the registry")
    push.add_argument(
        "--url", help="the platform (default: $HEADWATER_URL, else http://localhost:8080)"
    )
    push.add_argument("--token", help="an API token (default: $HEADWATER_TOKEN)")
    push.add_argument("--framework", help="sklearn, onnx, xgboost, lightgbm or mlflow")
    push.add_argument(
        "--features", help="input columns, comma-separated, when the file does not name them"
    )
    push.add_argument("--metrics", help="a JSON object of numbers, e.g. '{\"auc\": 0.93}'")
    push.add_argument("--description", default="", help="a line about this version")
    push.add_argument("--alias", help="move this alias (e.g. staging) to the new version")
    push.set_defaults(handler=cmd_models_push, parser=push)


def _add_deploy(commands: Any) -> None:
    deploy = commands.add_parser(
        "deploy",
        help="render a project's apps as Kubernetes manifests",
        description=(
            "Render each app of the project in FOLDER (its headwater.yaml) as Kubernetes "
            "manifests: a StatefulSet (replicas, CPU and memory, a state volume, secrets as "
            "Secret references) and a headless Service for its metrics. With --dry-run they "
            "are written as YAML without a cluster; the platform applies them itself to a "
            "cluster whose target is Kubernetes."
        ),
        epilog=(
            "example: headwater deploy . --target kubernetes --dry-run --namespace apps "
            "--image registry.example/headwater:0.1.0 --broker kafka.apps.svc:9092 --out k8s/"
        ),
    )
    deploy.add_argument("folder", type=Path, metavar="FOLDER", help="the project's folder")
    deploy.add_argument("--target", choices=["kubernetes"], default="kubernetes")
    deploy.add_argument("--dry-run", action="store_true", help="write the manifests; apply nothing")
    deploy.add_argument("--project", help="the project's name (default: the folder's name)")
    deploy.add_argument(
        "--commit", help="the full commit id pods check out (default: the folder's Git HEAD)"
    )
    deploy.add_argument("--broker", default="kafka:9092", metavar="HOST:PORT")
    # Unset options take KubernetesTarget's defaults.
    deploy.add_argument("--namespace", help="default: default")
    deploy.add_argument("--image", help="the image that runs apps (default: headwater:0.1.0)")
    deploy.add_argument("--git-url", help="the platform's address as pods reach it")
    deploy.add_argument("--git-image", help="the init container's (default: alpine/git)")
    deploy.add_argument("--state-size", metavar="SIZE", help="each replica's volume (1Gi)")
    deploy.add_argument("--storage-class", help="default: the cluster's default class")
    deploy.add_argument(
        "--out", type=Path, metavar="DIR", help="write one APP.yaml per app here (default stdout)"
    )
    deploy.set_defaults(handler=cmd_deploy, parser=deploy)


def _add_server(commands: Any) -> None:
    server = commands.add_parser(
        "server",
        help="run the platform's web server (API, projects, Git over HTTP)",
        description=(
            "Serve the platform API: projects as Git repositories, users and API tokens, "
            "clusters and secrets. Metadata lives in a SQLite file in the data directory "
            "unless --database-url names a PostgreSQL database. On first start it creates the "
            "user 'admin' with the password from $HEADWATER_ADMIN_PASSWORD, or generates one "
            "and prints it once. Ctrl-C or SIGTERM stops it."
        ),
        epilog="example: headwater server --data-dir ./headwater-data --port 8080",
    )
    server.add_argument(
        "--data-dir",
        type=folder_path,
        required=True,
        metavar="DIR",
        help="where the server keeps data",
    )
    server.add_argument(
        "--database-url",
        metavar="URL",
        help="e.g. postgresql://user@localhost:5432/headwater (default: SQLite in the data dir)",
    )
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    server.add_argument("--port", type=port_number, default=8080, help="port (default 8080)")
    server.add_argument(
        "--secure-cookies",
        action="store_true",
        help="mark session cookies Secure (when clients reach the server over HTTPS)",
    )
    server.add_argument(
        "--trusted-proxies",
        metavar="ADDRESSES",
        help="believe X-Forwarded-For only from these proxy addresses, comma-separated "
        "(default: from none)",
    )
    server.set_defaults(handler=cmd_server, parser=server)


def _add_up(commands: Any) -> None:
    up = commands.add_parser(
        "up",
        help="run the whole platform locally: broker, server and a live demo",
        description=(
            "Start a local broker (unless --broker names one), point the cluster 'default' at "
            "it and serve the platform. On a platform without projects it creates the demo "
            "project and deploys its three apps (synthetic orders, windowed features, a "
            "scorer), so data flows at once. On first start it creates the user 'admin' with "
            "the password from $HEADWATER_ADMIN_PASSWORD, or generates one and prints it once. "
            "Ctrl-C or SIGTERM stops the server, every app it runs and the broker."
        ),
        epilog="example: headwater up --port 8080",
    )
    up.add_argument(
        "--data-dir",
        type=folder_path,
        default="headwater-data",  # a string, so the type checks it too
        metavar="DIR",
        help="where the platform keeps its data (default ./headwater-data)",
    )
    up.add_argument(
        "--broker",
        type=broker_address,
        metavar="HOST:PORT",
        help="use this Kafka cluster instead of starting a local broker",
    )
    up.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    up.add_argument("--port", type=port_number, default=8080, help="port (default 8080)")
    up.add_argument(
        "--no-demo", action="store_true", help="do not create the demo project on a new platform"
    )
    up.set_defaults(handler=cmd_up, parser=up)


# Commands
def cmd_run(args: argparse.Namespace) -> int:
    path: Path = args.path
    if not path.is_file():
        raise UsageError(f"argument APP: no such file {str(path)!r}; give the app's .py file")
    if args.broker:
        from headwater.kafka.settings import BROKER_ENV

        os.environ[BROKER_ENV] = args.broker  # read when the app's KafkaSettings are made
    if args.until is not None:
        from headwater.environment import UNTIL_ENV

        os.environ[UNTIL_ENV] = args.until  # read when the app runs
    if args.metrics:
        from headwater.runtime.loop.step_metrics import METRICS_ADDRESS_ENV

        os.environ[METRICS_ADDRESS_ENV] = args.metrics  # read when the app starts running
    from headwater.loader import has_main_block, load_app

    source = path.read_text(encoding="utf-8")
    sys.argv = [str(path)]
    if has_main_block(source):
        sys.path.insert(0, str(path.resolve().parent))  # sibling modules import as with `python`
        runpy.run_path(str(path), run_name="__main__")
        return 0
    load_app(path).run()
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    from headwater.kafka.broker import make_broker

    if args.data_dir is not None and args.kind != "apache":
        args.parser.error("--data-dir needs --apache: Tansu keeps topics in memory")
    broker = make_broker(args.kind, args.port, log_path=args.log, data_dir=args.data_dir)
    stop = threading.Event()
    restore = on_stop_signals(lambda _: stop.set())
    try:
        broker.start()
        print(f"headwater broker listening on {broker.bootstrap_servers}", flush=True)
        if args.data_dir:
            kept = f"topics are kept in {args.data_dir}"
        elif args.kind == "tansu":
            kept = "in memory: topics are lost when it stops"
        else:
            kept = "topics are lost when it stops (keep them with --data-dir)"
        print(f"{kept}. Ctrl-C or SIGTERM stops it.", file=sys.stderr, flush=True)
        while not stop.wait(0.2):
            if not broker.running:
                hint = f"; see {args.log}" if args.log else "; rerun with --log FILE to see why"
                print(f"headwater: error: the broker exited unexpectedly{hint}", file=sys.stderr)
                return 1
    finally:
        broker.stop()
        restore()
    print("broker stopped", file=sys.stderr, flush=True)
    return 0


def cmd_topics_list(args: argparse.Namespace) -> int:
    topics = _admin(args).list_topics(include_internal=args.internal)
    rows = [
        {"name": t.name, "partitions": t.partitions} for t in sorted(topics.values(), key=_name)
    ]
    if args.json:
        print(orjson.dumps(rows).decode())
        return 0
    width = max([len("NAME"), *(len(r["name"]) for r in rows)])
    print(f"{'NAME':<{width}}  PARTITIONS")
    for row in rows:
        print(f"{row['name']:<{width}}  {row['partitions']}")
    return 0


def cmd_topics_create(args: argparse.Namespace) -> int:
    from headwater.topic import Topic

    try:
        topic = Topic(
            args.name,
            partitions=args.partitions,
            replication=args.replication,
            config=dict(args.config),
        )
    except ConfigError as exc:
        raise UsageError(f"argument NAME: {exc}") from None
    _admin(args).create([topic], exist_ok=False)
    print(f"created topic {topic.name} ({topic.partitions} partitions)")
    return 0


def cmd_topics_delete(args: argparse.Namespace) -> int:
    if not args.yes:
        raise UsageError(
            f"argument --yes: deleting {', '.join(args.names)} loses every record in them; "
            "add --yes to confirm"
        )
    _admin(args).delete(list(args.names))
    for name in args.names:
        print(f"deleted topic {name}")
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    from headwater.kafka.tail import TopicTail

    tail = TopicTail(
        _settings(args),
        args.topics,
        start=args.start,
        key=args.key,
        value=args.value,
        headers=args.headers,
        stop_at_end=args.exit_at_end,
        timeout=args.timeout,
    )
    restore = on_stop_signals(lambda _: tail.stop())
    try:
        for record in tail.records(limit=args.limit):
            sys.stdout.write(record.to_json() + "\n")
            sys.stdout.flush()
    finally:
        restore()
    return 0


def cmd_state_get(args: argparse.Namespace) -> int:
    from headwater.state import read_key

    values = read_key(
        args.app, args.store, args.key, settings=_settings(args), timeout=args.timeout
    )
    print(orjson.dumps(values).decode())
    return 0


def cmd_models_push(args: argparse.Namespace) -> int:
    from headwater.models.push import push_model

    metrics = None
    if args.metrics is not None:
        try:
            metrics = orjson.loads(args.metrics)
        except orjson.JSONDecodeError:
            metrics = None
        if not isinstance(metrics, dict):
            raise UsageError("--metrics must be a JSON object, e.g. '{\"auc\": 0.93}'")
    features = None if args.features is None else args.features.split(",")
    stored = push_model(
        args.path,
        args.project,
        args.name,
        url=args.url,
        token=args.token,
        framework=args.framework,
        features=features,
        metrics=metrics,
        description=args.description,
        alias=args.alias,
    )
    names = ", ".join(f["name"] for f in stored["features"])
    aliases = f" ({', '.join(stored['aliases'])})" if stored["aliases"] else ""
    print(
        f"{args.name} version {stored['version']}{aliases}: {stored['framework']}, "
        f"features {names}; use it as models:/{args.name}/{stored['version']}"
    )
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from headwater.platform.kubernetes.command import run_deploy

    return run_deploy(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from headwater.demo.runner import run_demo

    run_demo(port=args.port, rate=args.rate)
    return 0


def cmd_server(args: argparse.Namespace) -> int:
    from headwater.platform.server import serve
    from headwater.platform.settings import PlatformSettings

    serve(
        PlatformSettings(
            data_dir=args.data_dir,
            database_url=args.database_url,
            secure_cookies=args.secure_cookies,
        ),
        host=args.host,
        port=args.port,
        trusted_proxies=args.trusted_proxies,
    )
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from headwater.platform.up import UpOptions, run_up

    run_up(UpOptions(args.data_dir, args.broker, args.host, args.port, demo=not args.no_demo))
    return 0


# Helpers
def _settings(args: argparse.Namespace) -> Any:
    from headwater.kafka.settings import KafkaSettings

    options: dict[str, Any] = dict(args.kafka_option)
    options.setdefault("logger", _LIBRDKAFKA_LOG)
    if args.broker:
        return KafkaSettings(args.broker, options)
    return KafkaSettings(options=options)


def _admin(args: argparse.Namespace) -> Any:
    from headwater.kafka.admin import TopicAdmin

    return TopicAdmin(_settings(args), timeout=args.timeout)


def _name(topic: Any) -> str:
    return str(topic.name)


def _version() -> str:
    from headwater import __version__

    return __version__


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    _LIBRDKAFKA_LOG.setLevel(logging.DEBUG if verbosity >= 2 else logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except UsageError as exc:
        command: argparse.ArgumentParser = args.parser
        command.print_usage(sys.stderr)
        print(f"{command.prog}: error: {exc}", file=sys.stderr)
        return 2
    except HeadwaterError as exc:
        print(f"{args.parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly without a second error on exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
