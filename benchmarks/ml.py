"""Model scoring benchmark: the same model scored in batches inside a Headwater pipeline,
called per record in a peer's pipeline, and called per record over HTTP.

Every contender reads the same pre-produced payments (``{"id", <8 numeric features>}``) and
writes each with the model's ``prediction`` (the label) and ``score`` (the probability of
fraud) to a fresh output topic. The model is a scikit-learn pipeline (a scaler, then a logistic
regression) trained by this script on generated data, and the same model converted to ONNX
(skl2onnx, run with onnxruntime); nothing is downloaded.

1. ``raw-copy``: confluent-kafka consume -> produce of the same bytes (the ceiling);
2. ``headwater-sklearn`` / ``headwater-onnx``: ``sdf.predict(model, features=[...])``: one
   ``predict``/``predict_proba`` (or one onnxruntime ``run``) per micro-batch;
3. ``quix-sklearn`` / ``quix-onnx``: the same model called per record in a Quix Streams 3.28
   ``apply`` (a one-row numpy array each: the fastest per-record call either framework has);
4. ``http-sklearn`` / ``http-onnx``: the same model behind a local HTTP model server (a
   threading server of the standard library, keep-alive), called per record with a pooled
   ``requests`` session from a Quix Streams ``apply``: the architecture a model step replaces.

Each contender runs in its own process with the same consumer and producer settings and the
same commit interval, at at-least-once, and reports the wall-clock time of its first record and
of its final checkpoint. The harness scores every payment with the model itself, in one batch,
and checks each contender wrote every payment once with that prediction and score (scikit-learn
within 1e-9 relative, ONNX's float32 within 1e-6 absolute).

With ``--latency``, every contender but the ceiling then runs again under payments produced at
a fixed rate, 10% of the maximum it just reached, for ``--latency-seconds``: p50/p95/p99 from
produce to a reader's receipt, measured as benchmarks/latency.py does (``_latency.py``; the
first ``--warmup`` seconds left out).

    python benchmarks/ml.py                              # 200k records, 3 rounds
    python benchmarks/ml.py --records 20000 --rounds 1   # a quick run
    python benchmarks/ml.py --latency                    # and the latency at 10% of each maximum
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    PRODUCER,
    Timing,
    average_size,
    benchmark_parser,
    ensure_peer_packages,
    peer_command,
    read_values,
    run_benchmark,
    run_cli,
    run_peer,
    run_script,
    say_ratios,
)
from _contenders import run_headwater_app, run_raw  # noqa: E402
from _latency import LOW_LATENCY, WARMUP_S, StartContender, header, measure, row  # noqa: E402

FRAMEWORKS = ("sklearn", "onnx")
CONTENDERS = (
    "raw-copy",
    *(f"{kind}-{framework}" for kind in ("headwater", "quix", "http") for framework in FRAMEWORKS),
)
COMMIT_INTERVAL = 5.0  # seconds; both libraries' default, given to both explicitly
FEATURES = (
    "amount",
    "hour",
    "night",
    "account_age_days",
    "merchant_risk",
    "distance_km",
    "payments_24h",
    "avg_basket",
)
MODEL_FILES = {"sklearn": "fraud.joblib", "onnx": "fraud.onnx"}
# Scores may differ by this much: (relative, absolute). onnxruntime computes in float32, and a
# one-row run rounds differently from a batched one by a few float32 steps (about 1e-7).
TOLERANCE = {"sklearn": (1e-9, 0.0), "onnx": (0.0, 1e-6)}
# Scores: id -> (prediction, score)
Scores = dict[int, tuple[int, float]]


# The workload and the model
def feature_rows(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        hour = rng.randrange(24)
        rows.append(
            {
                "id": i,
                "amount": round(rng.lognormvariate(3.6, 1.0), 2),
                "hour": hour,
                "night": int(hour < 6),
                "account_age_days": rng.randrange(1, 3_000),
                "merchant_risk": round(rng.random(), 4),
                "distance_km": round(rng.expovariate(1 / 30), 2),
                "payments_24h": rng.randrange(0, 20),
                "avg_basket": round(rng.lognormvariate(3.5, 0.6), 2),
            }
        )
    return rows


def payments(count: int, seed: int = 31) -> list[tuple[bytes, bytes]]:
    """``count`` payments to score, keyed by id."""
    return [(str(r["id"]).encode(), orjson.dumps(r)) for r in feature_rows(count, seed)]


def matrix(rows: list[dict[str, Any]]) -> Any:
    import numpy as np

    return np.array([[r[f] for f in FEATURES] for r in rows], dtype=np.float64)


def train_models(folder: Path, samples: int = 20_000) -> None:
    """Fit the fraud model on generated history and write it as joblib and as ONNX."""
    import joblib
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    history = feature_rows(samples, seed=5)
    x = matrix(history)
    rng = np.random.default_rng(5)
    logit = 0.02 * x[:, 0] + 1.5 * x[:, 2] - 0.001 * x[:, 3] + 3.0 * x[:, 4] + 0.02 * x[:, 5] - 4.0
    y = (rng.random(samples) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000)).fit(x, y)
    joblib.dump(model, folder / MODEL_FILES["sklearn"])
    onnx = to_onnx(model, x[:5].astype(np.float32), options={"zipmap": False})
    (folder / MODEL_FILES["onnx"]).write_bytes(onnx.SerializeToString())


def expected_scores(folder: Path, framework: str, events: list[tuple[bytes, bytes]]) -> Scores:
    """Every payment scored by the model itself, in one batch."""
    import numpy as np

    rows = [orjson.loads(v) for _, v in events]
    x = matrix(rows)
    if framework == "sklearn":
        import joblib

        model = joblib.load(folder / MODEL_FILES["sklearn"])
        labels, scores = model.predict(x), model.predict_proba(x)[:, 1]
    else:
        import onnxruntime as ort

        session = ort.InferenceSession(str(folder / MODEL_FILES["onnx"]))
        name = session.get_inputs()[0].name
        labels, proba = session.run(None, {name: x.astype(np.float32)})
        scores = np.asarray(proba)[:, 1]
    return {r["id"]: (int(lb), float(s)) for r, lb, s in zip(rows, labels, scores, strict=True)}


# The model server (the architecture a model step replaces)
def serve(folder: Path, framework: str, port: int) -> None:
    """Serve the model: POST a JSON list of features, get {"prediction", "score"} back."""
    import numpy as np

    if framework == "sklearn":
        import joblib

        model = joblib.load(folder / MODEL_FILES["sklearn"])

        def score(features: list[float]) -> tuple[int, float]:
            x = np.array([features], dtype=np.float64)
            return int(model.predict(x)[0]), float(model.predict_proba(x)[0, 1])

    else:
        import onnxruntime as ort

        session = ort.InferenceSession(str(folder / MODEL_FILES["onnx"]))
        name = session.get_inputs()[0].name

        def score(features: list[float]) -> tuple[int, float]:
            labels, proba = session.run(None, {name: np.array([features], dtype=np.float32)})
            return int(labels[0]), float(proba[0][1])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: one connection for the whole run

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as two writes: without this, Nagle's algorithm holds the
            # body until the client's delayed ACK, 40 ms a request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            prediction, probability = score(orjson.loads(body))
            answer = orjson.dumps({"prediction": prediction, "score": probability})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


@contextmanager
def model_server(folder: Path, framework: str) -> Iterator[str]:
    """The model server in a process of its own, for the run; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, __file__, "--serve", framework, "--model-dir", str(folder)]
    process = subprocess.Popen([*command, "--port", str(port)])
    url = f"http://127.0.0.1:{port}/predict"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(url, data=json.dumps([0.0] * 8).encode())
                urllib.request.urlopen(request, timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the model server did not start within 60 s") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


# Contenders (each runs in a process of its own)
def build_headwater(framework: str) -> Callable[[Any, str, str], None]:
    model = Path(os.environ["HEADWATER_BENCH_MODEL_DIR"]) / MODEL_FILES[framework]

    def build(app: Any, source: str, sink: str) -> None:
        """The pipeline: score each micro-batch in one call, write every payment."""
        sdf = app.dataframe(app.topic(source))
        sdf.predict(model, features=list(FEATURES)).to_topic(app.topic(sink))

    return build


def run_headwater(
    framework: str, bootstrap: str, source: str, sink: str, records: int, timeout: float = 600.0
) -> Timing:
    args = (bootstrap, source, sink, records, timeout)
    build = build_headwater(framework)
    return run_headwater_app(f"hw-ml-{framework}", build, *args, commit_interval=COMMIT_INTERVAL)


def serve_headwater_until_stopped(framework: str, bootstrap: str, source: str, sink: str) -> None:
    """The Headwater contender for latency: its pipeline with the low-latency consumer
    settings, until SIGTERM (then it finishes its batch and commits)."""
    from headwater import App

    app = App(
        f"lat-ml-{framework}-{os.getpid()}",
        broker=bootstrap,
        consumer_config=dict(LOW_LATENCY),
        producer_config=dict(PRODUCER),
        state_dir=tempfile.mkdtemp(prefix="hw-ml-latency-"),
        commit_interval=COMMIT_INTERVAL,
    )
    build_headwater(framework)(app, source, sink)
    app.run()


def run_contender(name: str, bootstrap: str, source: str, sink: str, records: int) -> Timing:
    if name == "raw-copy":
        return run_raw(bootstrap, source, sink, records)
    if name.startswith("headwater-"):
        return run_headwater(name.split("-", 1)[1], bootstrap, source, sink, records)
    raise SystemExit(f"unknown contender {name!r}; use one of {', '.join(CONTENDERS)}")


# Checking outputs
def check_output(
    bootstrap: str, sink: str, expected: Scores, tolerance: tuple[float, float]
) -> str | None:
    """None if ``sink`` holds every payment once with its expected prediction and score."""
    rel, absolute = tolerance
    found: Scores = {}
    for raw in read_values(bootstrap, sink):
        v = orjson.loads(raw)
        if v["id"] in found:
            return f"payment {v['id']} written twice"
        found[v["id"]] = (v["prediction"], v["score"])
    if len(found) != len(expected):
        return f"{len(found)} payments written, {len(expected)} expected"
    for pid, (label, score) in expected.items():
        got = found.get(pid)
        if got is None:
            return f"payment {pid} missing"
        if got[0] != label or not math.isclose(got[1], score, rel_tol=rel, abs_tol=absolute):
            return f"payment {pid}: {got} != {(label, score)}"
    return None


# The harness
def benchmark(
    bootstrap: str,
    records: int,
    partitions: int,
    contenders: list[str],
    rounds: int = 1,
    say: Callable[[str], None] = print,
    latency_seconds: float = 0.0,
    warmup: float = WARMUP_S,
) -> dict[str, float]:
    events = payments(records)
    folder = Path(tempfile.mkdtemp(prefix="bench-models-"))
    os.environ["HEADWATER_BENCH_MODEL_DIR"] = str(folder)
    try:
        train_models(folder)
        expected = {f: expected_scores(folder, f, events) for f in FRAMEWORKS}
        fraud = sum(label for label, _ in expected["sklearn"].values())
        say(
            f"{records} payments ({average_size(events):.0f} bytes of JSON on average, "
            f"{len(FEATURES)} features, {partitions} partitions); a scaler + logistic "
            f"regression, as scikit-learn and as ONNX; {fraud} payments flagged"
        )
        if any(not n.startswith(("raw", "headwater")) for n in contenders):
            ensure_peer_packages(
                f"scikit-learn=={version('scikit-learn')}",
                f"onnxruntime=={version('onnxruntime')}",
            )

        def run(name: str, source: str, sink: str) -> tuple[Timing, str | None]:
            kind, _, framework = name.partition("-")
            settings = {"commit_interval": COMMIT_INTERVAL, "framework": framework}
            settings |= {"model_dir": str(folder), "features": list(FEATURES)}
            if kind == "quix":
                timing = run_peer("quix_ml.py", bootstrap, source, sink, records, settings)
            elif kind == "http":
                with model_server(folder, framework) as url:
                    settings["url"] = url
                    timing = run_peer("quix_ml.py", bootstrap, source, sink, records, settings)
            else:
                timing = run_script(__file__, name, bootstrap, source, sink, records)
            if kind == "raw":
                return timing, None if len(read_values(bootstrap, sink)) == records else "count"
            return timing, check_output(bootstrap, sink, expected[framework], TOLERANCE[framework])

        topics = ("bench-scoring", "bench-scored")
        rates = run_benchmark(
            bootstrap, topics, events, partitions, contenders, rounds, run, say, width=17
        )
        if latency_seconds > 0:
            latency(bootstrap, folder, rates, partitions, latency_seconds, warmup, say)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    say("")
    pairs = [("headwater-sklearn", "raw-copy", "Headwater sklearn / ceiling")]
    for framework in FRAMEWORKS:
        ours = f"headwater-{framework}"
        pairs.append((ours, f"quix-{framework}", f"{framework}: batched / per record"))
        pairs.append((ours, f"http-{framework}", f"{framework}: batched / HTTP service"))
    say_ratios(rates, pairs, say, width=32)
    return rates


def latency_contender(
    kind: str, framework: str, bootstrap: str, folder: Path, url: str | None = None
) -> StartContender:
    """How to start a contender for latency, in a process that runs until SIGTERM."""

    def start(source: str, sink: str) -> subprocess.Popen[bytes]:
        if kind == "headwater":
            command = [sys.executable, __file__, "--latency-contender", framework]
            command += ["--broker", bootstrap, "--input", source, "--output", sink]
            env = {**os.environ, "HEADWATER_BENCH_MODEL_DIR": str(folder)}
            return subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        settings: dict[str, Any] = {"consumer": LOW_LATENCY, "framework": framework}
        settings |= {"commit_interval": COMMIT_INTERVAL, "model_dir": str(folder)}
        settings |= {"features": list(FEATURES), **({"url": url} if url else {})}
        # A record count never reached: the runner goes on until SIGTERM.
        command = peer_command("quix_ml.py", bootstrap, source, sink, 10**12, settings)
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return start


def latency(
    bootstrap: str,
    folder: Path,
    rates: dict[str, float],
    partitions: int,
    seconds: float,
    warmup: float,
    say: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Each contender (but the ceiling) under payments at 10% of its maximum ``rates``: its
    latency from produce to receipt."""
    values = [orjson.loads(v) for _, v in payments(10_000)]
    say("")
    say(
        f"latency at 10% of each contender's maximum, {seconds:.0f} s each (the first "
        f"{warmup:.0f} s left out), in ms from produce to a read_committed reader's receipt:"
    )
    say(f"{header(17)} {'records/s':>10}")
    results = []
    for name, maximum in rates.items():
        kind, _, framework = name.partition("-")
        if kind == "raw":
            continue
        rate = max(1.0, round(maximum * 0.1))

        args = (values, "id", rate, seconds, warmup, partitions)
        if kind == "http":
            with model_server(folder, framework) as url:
                start = latency_contender(kind, framework, bootstrap, folder, url)
                result = measure(bootstrap, name, start, *args)
        else:
            start = latency_contender(kind, framework, bootstrap, folder)
            result = measure(bootstrap, name, start, *args)
        result["rate"] = rate
        results.append(result)
        say(f"{row(result, 17)} {rate:>10,.0f}")
    say(json.dumps({"latency": results}))
    return results


def main() -> None:
    if "--serve" in sys.argv:
        serving = argparse.ArgumentParser()
        serving.add_argument("--serve", choices=FRAMEWORKS, required=True)
        serving.add_argument("--model-dir", type=Path, required=True)
        serving.add_argument("--port", type=int, required=True)
        options = serving.parse_args()
        serve(options.model_dir, options.serve, options.port)
        return

    if "--latency-contender" in sys.argv:
        contender = argparse.ArgumentParser()
        contender.add_argument("--latency-contender", choices=FRAMEWORKS, required=True)
        for option in ("--broker", "--input", "--output"):
            contender.add_argument(option, required=True)
        options = contender.parse_args()
        serve_headwater_until_stopped(
            options.latency_contender, options.broker, options.input, options.output
        )
        return

    def benchmark_args(bootstrap: str, args: argparse.Namespace) -> None:
        seconds = args.latency_seconds if args.latency else 0.0
        benchmark(
            bootstrap,
            args.records,
            args.partitions,
            args.only,
            args.rounds,
            latency_seconds=seconds,
            warmup=args.warmup,
        )

    parser = benchmark_parser(__doc__, records=200_000)
    parser.add_argument(
        "--latency", action="store_true", help="then latency at 10%% of each maximum rate"
    )
    parser.add_argument("--latency-seconds", type=float, default=45.0)
    parser.add_argument(
        "--warmup", type=float, default=WARMUP_S, help="latency: seconds left out at the start"
    )
    run_cli(parser, CONTENDERS, run_contender, benchmark_args)


if __name__ == "__main__":
    main()
