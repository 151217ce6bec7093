"""The MLPerf Inference scenarios on the host CPU, with LiteRT or tflite-micro as the engine.

MLPerf Tiny itself knows only single-stream; these scenarios show how a model behaves under the
other load patterns of MLPerf Inference:

    single-stream  one query of one sample at a time; latency percentiles (p50, p90, p99)
    multi-stream   a query of N samples every interval; the largest N for which 99% of the
                   queries finish within the interval ("samples per query")
    server         queries of one sample arriving as a Poisson process at a target rate; the
                   share of queries answered within a latency bound (met when >= 99%)
    offline        all samples at once; throughput

Inputs are random, of the model's input shape and dtype. Each run writes a test folder
`<out>/<system>/<model>/hostbench-<scenario>/` with results.json, results.txt and log.txt, which
`tinybench report` reads beside the results of `tinybench run`.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import queue
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from tinybench import benchmarks
from tinybench.errors import UserError
from tinybench.progress import progress_bar

SCENARIOS = ("single-stream", "multi-stream", "server", "offline")
BACKENDS = ("litert", "tflm")
TEST_PREFIX = "hostbench-"
WITHIN_SHARE = 0.99           # MLPerf's 99th-percentile criterion for multi-stream and server
WARMUP_INFERENCES = 5
INPUT_POOL = 16               # distinct random inputs, cycled (so RNG cost stays out of timing)
MULTI_STREAM_ATTEMPTS = 6     # runs at decreasing N before multi-stream gives up


@dataclass
class Settings:
    duration_s: float = 10.0          # minimum run time (server: time over which queries arrive)
    min_queries: int = 100            # minimum queries (offline: samples)
    seed: int = 0
    threads: int = 1                  # LiteRT interpreter threads
    samples_per_query: int | None = None   # multi-stream; None = the largest that fits
    interval_ms: float = 50.0         # multi-stream
    target_qps: float = 100.0         # server
    latency_bound_ms: float = 15.0    # server


# ---------------------------------------------------------------------------------------------
# Engines


class Engine:
    """One model loaded in one interpreter; infer() runs one sample."""
    name = ""
    input_shape: tuple[int, ...]
    input_dtype: np.dtype
    output_shape: tuple[int, ...]

    def infer(self, x: np.ndarray) -> None:
        raise NotImplementedError


class LiteRTEngine(Engine):
    name = "litert"

    def __init__(self, model: Path, threads: int):
        from ai_edge_litert.interpreter import Interpreter
        try:
            self._interp = Interpreter(model_path=str(model), num_threads=threads)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise UserError(f"LiteRT could not load {model}: {exc}") from None
        detail = self._interp.get_input_details()[0]
        self._input = detail["index"]
        self.input_shape = tuple(int(d) for d in detail["shape"])
        self.input_dtype = np.dtype(detail["dtype"])
        out = self._interp.get_output_details()[0]
        self._output = out["index"]
        self.output_shape = tuple(int(d) for d in out["shape"])

    def infer(self, x):
        self._interp.set_tensor(self._input, x)
        self._interp.invoke()
        self._interp.get_tensor(self._output)


class TFLMEngine(Engine):
    name = "tflm"

    def __init__(self, model: Path):
        from tinybench import tflm
        self._interp = tflm.interpreter(model)
        detail = self._interp.get_input_details(0)
        self.input_shape = tuple(int(d) for d in detail["shape"])
        self.input_dtype = np.dtype(detail["dtype"])
        self.output_shape = tuple(int(d) for d in self._interp.get_output_details(0)["shape"])

    def infer(self, x):
        self._interp.set_input(x, 0)
        self._interp.invoke()
        self._interp.get_output(0)


def make_engine(backend: str, model: Path, threads: int = 1) -> Engine:
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if not Path(model).is_file():
        raise UserError(f"{model} does not exist: give a .tflite model file")
    return LiteRTEngine(model, threads) if backend == "litert" else TFLMEngine(model)


def random_inputs(shape, dtype, count: int, seed: int) -> list[np.ndarray]:
    """Random inputs over the dtype's full range (integers) or a unit normal (floats)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return [rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
                for _ in range(count)]
    return [rng.standard_normal(shape).astype(dtype) for _ in range(count)]


# ---------------------------------------------------------------------------------------------
# Scenarios. Each returns (metrics, valid): valid is None where the scenario has no criterion.


def percentiles_ms(latencies_s) -> dict:
    """p50/p90/p99 (each an observed latency: the smallest one at or above the percentile),
    mean and max, in milliseconds."""
    a = np.asarray(latencies_s, dtype=np.float64) * 1000.0
    if a.size == 0:
        return {}
    pct = {f"p{p}": float(np.percentile(a, p, method="higher")) for p in (50, 90, 99)}
    return dict(pct, mean=float(a.mean()), max=float(a.max()))


class _Samples:
    """Cycles through the input pool."""

    def __init__(self, engine: Engine, inputs: list[np.ndarray]):
        self.engine, self.inputs, self.i = engine, inputs, 0

    def run(self, count: int = 1) -> None:
        for _ in range(count):
            self.engine.infer(self.inputs[self.i % len(self.inputs)])
            self.i += 1


def _sample_latency_s(samples: _Samples, count: int = 20) -> float:
    """Warm the engine up, then return the median time of one sample."""
    samples.run(WARMUP_INFERENCES)
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        samples.run()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def single_stream(samples: _Samples, s: Settings, log) -> tuple[dict, None]:
    one = _sample_latency_s(samples)
    expected = max(s.min_queries, int(s.duration_s / max(one, 1e-6)))
    latencies = []
    start = time.perf_counter()
    with progress_bar(total=expected, desc="single-stream", unit="query") as bar:
        while len(latencies) < s.min_queries or time.perf_counter() - start < s.duration_s:
            t0 = time.perf_counter()
            samples.run()
            latencies.append(time.perf_counter() - t0)
            bar.update(1)
    elapsed = time.perf_counter() - start
    log(f"single-stream: {len(latencies)} queries in {elapsed:.3f} s")
    return dict(queries=len(latencies), duration_s=elapsed, latency_ms=percentiles_ms(latencies),
                throughput=len(latencies) / elapsed), None


def _multi_stream_run(samples: _Samples, n: int, s: Settings, bar) -> dict:
    """Queries of n samples, one due every interval; a late query delays the next one (one
    engine). Latency counts from the moment the query was due."""
    interval = s.interval_ms / 1000.0
    queries = max(s.min_queries, int(np.ceil(s.duration_s / interval)))
    latencies = []
    start = time.perf_counter()
    for k in range(queries):
        due = start + k * interval
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
        samples.run(n)
        latencies.append(time.perf_counter() - due)
        bar.update(1)
    within = float(np.mean(np.asarray(latencies) <= interval))
    return dict(samples_per_query=n, queries=queries, duration_s=time.perf_counter() - start,
                within_interval=within, latency_ms=percentiles_ms(latencies))


def multi_stream(samples: _Samples, s: Settings, log) -> tuple[dict, bool]:
    interval = s.interval_ms / 1000.0
    n = s.samples_per_query
    if n is None:  # the most samples whose summed single-sample time fits 90% of the interval
        n = max(1, int(0.9 * interval / max(_sample_latency_s(samples), 1e-6)))
        log(f"multi-stream: starting from {n} samples per query (estimated)")
    else:
        _sample_latency_s(samples)
    attempts = []
    per_run = max(s.min_queries, int(np.ceil(s.duration_s / interval)))
    tries = MULTI_STREAM_ATTEMPTS if s.samples_per_query is None else 1
    with progress_bar(total=per_run * tries, desc="multi-stream", unit="query") as bar:
        for _ in range(tries):
            run = _multi_stream_run(samples, n, s, bar)
            attempts.append(run)
            log(f"multi-stream: {n} samples/query, {run['within_interval']:.2%} of queries "
                f"within {s.interval_ms} ms")
            if run["within_interval"] >= WITHIN_SHARE or n == 1:
                break
            # Scale N by how far the 99th-percentile query overran the interval.
            overrun = run["latency_ms"]["p99"] / s.interval_ms
            n = max(1, min(n - 1, int(0.95 * n / overrun)))
        bar.total = bar.n
    best = attempts[-1]
    valid = best["within_interval"] >= WITHIN_SHARE
    return dict(best, interval_ms=s.interval_ms, attempts=[
        dict(samples_per_query=a["samples_per_query"], within_interval=a["within_interval"])
        for a in attempts]), valid


def server(samples: _Samples, s: Settings, log) -> tuple[dict, bool]:
    """A load generator thread issues queries at Poisson arrival times; one worker thread runs
    them in order. Latency counts from the arrival time. Issuing stops after the duration (and
    at least min_queries); then the worker gets one latency bound more to finish: a query still
    waiting after that has certainly missed the bound, and the run stops."""
    _sample_latency_s(samples)
    rng = np.random.default_rng(s.seed + 1)
    bound = s.latency_bound_ms / 1000.0
    gaps = rng.exponential(1.0 / s.target_qps, size=max(s.min_queries,
                                                         int(s.target_qps * s.duration_s * 1.2) + 10))
    arrivals = np.cumsum(gaps)
    keep = max(s.min_queries, int(np.searchsorted(arrivals, s.duration_s)))
    arrivals = arrivals[:keep]
    done = np.full(len(arrivals), np.nan)       # completion times, relative to start
    pending: queue.Queue = queue.Queue()
    stop = threading.Event()

    def issue():
        for k, t in enumerate(arrivals):
            delay = start + t - time.perf_counter()
            if delay > 0 and stop.wait(delay):
                return
            pending.put(k)

    def work():
        while not stop.is_set():
            try:
                k = pending.get(timeout=0.01)
            except queue.Empty:
                continue
            samples.run()
            done[k] = time.perf_counter() - start

    start = time.perf_counter()
    threads = [threading.Thread(target=issue, daemon=True), threading.Thread(target=work, daemon=True)]
    for t in threads:
        t.start()
    deadline = start + arrivals[-1] + bound
    with progress_bar(total=len(arrivals), desc="server", unit="query") as bar:
        while time.perf_counter() < deadline and np.isnan(done).any():
            time.sleep(0.05)
            bar.update(int(np.count_nonzero(~np.isnan(done))) - bar.n)
        stop.set()
        for t in threads:
            t.join()
        bar.update(int(np.count_nonzero(~np.isnan(done))) - bar.n)
    ended = time.perf_counter() - start
    completed = ~np.isnan(done)
    # An unfinished query waited at least until the end: a lower bound of its latency.
    latencies = np.where(completed, done, ended) - arrivals
    within = float(np.mean(latencies <= bound))
    valid = within >= WITHIN_SHARE
    last = float(np.nanmax(done)) if completed.any() else ended
    log(f"server: {len(arrivals)} queries at {s.target_qps} QPS, {int(completed.sum())} answered, "
        f"{within:.2%} within {s.latency_bound_ms} ms")
    return dict(target_qps=s.target_qps, latency_bound_ms=s.latency_bound_ms,
                queries=len(arrivals), completed=int(completed.sum()),
                issued_over_s=float(arrivals[-1]),
                achieved_qps=float(completed.sum() / last) if last > 0 else 0.0,
                within_bound=within, latency_ms=percentiles_ms(latencies)), valid


def offline(samples: _Samples, s: Settings, log) -> tuple[dict, None]:
    one = _sample_latency_s(samples)
    count = max(s.min_queries, int(s.duration_s / max(one, 1e-6)))
    start = time.perf_counter()
    with progress_bar(total=count, desc="offline", unit="sample") as bar:
        step = max(1, count // 200)
        for i in range(0, count, step):
            samples.run(min(step, count - i))
            bar.update(min(step, count - i))
    elapsed = time.perf_counter() - start
    log(f"offline: {count} samples in {elapsed:.3f} s")
    return dict(samples=count, duration_s=elapsed, throughput=count / elapsed), None


_RUNNERS = {"single-stream": single_stream, "multi-stream": multi_stream, "server": server,
            "offline": offline}


# ---------------------------------------------------------------------------------------------
# Results


def _host() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return dict(cpu=cpu, cores=os.cpu_count(), system=platform.platform(),
                python=platform.python_version())


def summarize(record: dict) -> str:
    """One line that says what a hostbench run found."""
    m, scenario = record["metrics"], record["scenario"]
    lat = m.get("latency_ms", {})
    if scenario == "single-stream":
        return (f"p50 {lat['p50']:.3f} ms, p90 {lat['p90']:.3f} ms, p99 {lat['p99']:.3f} ms "
                f"({m['queries']} queries)")
    if scenario == "multi-stream":
        verdict = "" if record["valid"] else " (NOT met even at this N)"
        return (f"{m['samples_per_query']} samples/query within {m['interval_ms']:g} ms for "
                f"{m['within_interval']:.1%} of queries{verdict}, p99 {lat['p99']:.2f} ms")
    if scenario == "server":
        verdict = "bound met" if record["valid"] else "bound MISSED"
        return (f"{m['target_qps']:g} QPS target ({m['achieved_qps']:.1f} achieved): "
                f"{m['within_bound']:.1%} within {m['latency_bound_ms']:g} ms, {verdict}; "
                f"p99 {lat['p99']:.2f} ms")
    return f"{m['throughput']:.1f} inf./sec. over {m['samples']} samples"


def _label(key: str) -> str:
    """`latency_bound_ms` -> `Latency bound (ms)`."""
    words = key.split("_")
    unit = {"s": "s", "ms": "ms"}.get(words[-1]) if len(words) > 1 else None
    if unit:
        words = words[:-1]
    text = " ".join(words).capitalize().replace("qps", "QPS")
    return f"{text} ({unit})" if unit else text


def format_results(record: dict) -> str:
    """results.txt: the settings and metrics, one `Name: value` per line."""
    m = record["metrics"]
    lines = [f"tinybench hostbench: {record['scenario']} scenario",
             f"Model: {record['model']} (md5 {record['model_md5']})",
             f"Backend: {record['backend']}" + (f", threads: {record['settings']['threads']}"
                                                if record["backend"] == "litert" else ""),
             f"Host: {record['host']['cpu']}, {record['host']['cores']} cores"]
    for key, value in m.items():
        if key == "latency_ms":
            lines += [f"Latency {p}: {v:.4f} ms" for p, v in value.items()]
        elif key != "attempts":
            text = f"{value:.4f}" if isinstance(value, float) else str(value)
            lines.append(f"{_label(key)}: {text}")
    if record["valid"] is not None:
        lines.append(f"Result: {'VALID' if record['valid'] else 'INVALID'}")
    lines.append(f"Summary: {summarize(record)}")
    return "\n".join(lines) + "\n"


def run(model: Path, scenario: str, backend: str = "litert", settings: Settings | None = None,
        out: Path = Path("results"), system: str | None = None) -> tuple[Path, dict]:
    """Run one scenario and write its test folder. Returns (folder, record)."""
    if scenario not in SCENARIOS:
        raise UserError(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    s = settings or Settings()
    if s.duration_s <= 0 or s.min_queries < 1 or s.interval_ms <= 0 or s.target_qps <= 0 \
            or s.latency_bound_ms <= 0 or (s.samples_per_query is not None and s.samples_per_query < 1):
        raise UserError("durations, rates, bounds, intervals and counts must be positive")
    model = Path(model)
    engine = make_engine(backend, model, s.threads)
    bench = benchmarks.match_model(engine.input_shape, engine.output_shape)
    model_name = bench.submission_name if bench else model.stem
    system = system or f"host-{backend}"
    folder = Path(out) / system / model_name / f"{TEST_PREFIX}{scenario}"

    log_lines = []

    def log(text):
        log_lines.append(f"{datetime.now().isoformat(timespec='milliseconds')} {text}")

    log(f"{scenario} on {backend}, model {model}, input {engine.input_shape} {engine.input_dtype}")
    samples = _Samples(engine, random_inputs(engine.input_shape, engine.input_dtype,
                                             INPUT_POOL, s.seed))
    started = datetime.now().isoformat(timespec="seconds")
    metrics, valid = _RUNNERS[scenario](samples, s, log)
    record = dict(tool="tinybench hostbench", scenario=scenario, backend=backend,
                  model=str(model), model_md5=hashlib.md5(model.read_bytes()).hexdigest(),
                  benchmark=bench.id if bench else None, system=system, started=started,
                  host=_host(), settings=asdict(s), metrics=metrics, valid=valid)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.txt").unlink(missing_ok=True)  # a stale one must not outlive this run
    (folder / "log.txt").write_text("\n".join(log_lines) + "\n")
    (folder / "results.json").write_text(json.dumps(record, indent=1) + "\n")
    (folder / "results.txt").write_text(format_results(record))  # last: the folder is complete
    return folder, record
