"""The preview child: ``python -m headwater.platform.preview.child`` with a JSON request on stdin.

It imports the app, reads recent records of its inputs, runs them through the app in local mode
and writes a JSON result to the request's ``result`` path. Whatever the user's code prints goes to
stdout / stderr, which the parent keeps as the run's logs.
"""

from __future__ import annotations

import logging
import re
import runpy
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from headwater.errors import BrokerError, MissingTopicError, PipelineError
from headwater.kafka.settings import KafkaSettings
from headwater.kafka.tail import LastRecords, TopicTail
from headwater.runtime.loop.local import LocalInput

FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>.+)$')


def user_traceback(text: str, root: Path) -> tuple[str, list[dict[str, Any]]]:
    """``text`` (a formatted traceback) keeping only frames of files under ``root``, named
    relative to it; and those frames as ``{file, line, function}``."""
    prefix = str(root.resolve()) + "/"
    kept: list[str] = []
    frames: list[dict[str, Any]] = []
    keep_block = True
    for line in text.splitlines():
        match = FRAME.match(line)
        if match:
            keep_block = match["file"].startswith(prefix)
            if keep_block:
                file = match["file"].removeprefix(prefix)
                frames.append(
                    {"file": file, "line": int(match["line"]), "function": match["function"]}
                )
                kept.append(line.replace(match["file"], file, 1))
            continue
        if line.startswith("    ") and not keep_block:
            continue  # the source lines of a library frame
        if not line.startswith("    "):
            keep_block = True
        kept.append(line.replace(prefix, ""))
    return "\n".join(kept) + "\n", frames


def _error(exc: BaseException, stage: str, root: Path) -> dict[str, Any]:
    # A record failing under on_error="raise": the user's exception is the cause; the
    # wrapper's message says which record it was.
    shown = exc.__cause__ if isinstance(exc, PipelineError) and exc.__cause__ else exc
    text, frames = user_traceback("".join(traceback.format_exception(shown)), root)
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        file = str(Path(exc.filename).resolve()).removeprefix(str(root.resolve()) + "/")
        frames.append({"file": file, "line": exc.lineno, "function": "<module>"})
    return {
        "stage": stage,
        "type": type(shown).__name__,
        "message": str(exc),
        "traceback": text,
        "frames": frames,
    }


def _read_last(settings: KafkaSettings, topic: str, count: int) -> list[Any]:
    """The last ``count`` records of ``topic`` over all partitions, oldest first."""
    tail = TopicTail(settings, [topic], start=LastRecords(count), stop_at_end=True)
    messages = list(tail.messages())
    messages.sort(key=lambda m: (m.timestamp()[1], m.partition(), m.offset()))
    return messages[-count:] if count else []


def _read_live(settings: KafkaSettings, topics: list[str], seconds: float) -> list[Any]:
    """Records produced to ``topics`` during the next ``seconds``."""
    tail = TopicTail(settings, topics, start="latest")
    timer = threading.Timer(seconds, tail.stop)
    timer.start()
    try:
        return list(tail.messages())
    finally:
        timer.cancel()


def _records(frame: pd.DataFrame, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = orjson.loads(_dumps(frame.head(limit).to_dict(orient="records")))
    return rows


def _dumps(value: Any) -> bytes:
    def default(obj: Any) -> Any:
        if isinstance(obj, bytes):
            return obj.decode("utf-8", "backslashreplace")
        if hasattr(obj, "tolist"):
            return obj.tolist()
        return str(obj)

    return orjson.dumps(
        value, default=default, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    )


def run(request: dict[str, Any]) -> dict[str, Any]:
    from headwater.loader import find_app

    root = Path(request["project"]).resolve()
    entry = root / request["entrypoint"]
    settings = KafkaSettings(request["bootstrap_servers"], request["options"])
    result: dict[str, Any] = {"inputs": {}, "outputs": {}, "dead_letters": [], "error": None}
    sys.path.insert(0, str(entry.parent))  # sibling modules import as with `headwater run`
    try:
        namespace = runpy.run_path(str(entry), run_name="__headwater_preview__")
        app = find_app(namespace, Path(request["entrypoint"]))
    except Exception as exc:
        result["error"] = _error(exc, "import", root)
        return result
    topics = [t.name for t in app.input_topics if t.name not in app.internal_topics]
    try:
        if request.get("seconds") is not None:
            read = _read_live(settings, topics, float(request["seconds"]))
            per_topic = {t: [m for m in read if m.topic() == t] for t in topics}
        else:
            per_topic = {t: _read_last(settings, t, int(request["records"])) for t in topics}
    except (BrokerError, MissingTopicError) as exc:
        result["error"] = {
            "stage": "read",
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": "",
            "frames": [],
        }
        return result
    result["inputs"] = {t: len(ms) for t, ms in per_topic.items()}
    inputs: dict[str, LocalInput] = {
        t: ([m.value() for m in ms], [m.key() for m in ms], [m.timestamp()[1] for m in ms])
        for t, ms in per_topic.items()
        if ms
    }
    try:
        local = app.run_local(inputs)
    except Exception as exc:
        result["error"] = _error(exc, "run", root)
        return result
    limit = int(request["max_outputs"])
    result["outputs"] = {t: _records(df, limit) for t, df in local.outputs.items()}
    result["output_counts"] = {t: len(df) for t, df in local.outputs.items()}
    dead = []
    for row in local.dead_letters.head(limit).to_dict(orient="records"):
        text, frames = user_traceback(str(row.pop("traceback", "")), root)
        dead.append({**row, "traceback": text, "frames": frames})
    result["dead_letters"] = orjson.loads(_dumps(dead))
    return result


def main() -> None:
    request = orjson.loads(sys.stdin.buffer.read())
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    started = time.monotonic()
    result = run(request)
    result["duration_ms"] = round((time.monotonic() - started) * 1000)
    sys.stdout.flush()
    sys.stderr.flush()
    Path(request["result"]).write_bytes(_dumps(result))


if __name__ == "__main__":
    main()
