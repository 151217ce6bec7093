"""One hostbench run: LoadGen's TestSettings from the options, LoadGen driving a system under test
over the sample library, and (accuracy mode) LoadGen's accuracy log scored with the benchmark's
metric as the MLPerf Tiny runner scores it (tinybench/runner/scoring.py).

LoadGen owns the scenario: it generates the queries (one sample at a time for single-stream, N
per query for multi-stream, Poisson arrivals at a target rate for server, everything at once for
offline), times them, applies early stopping and decides VALID / INVALID. Settings it needs that a
user did not give (expected latency, target rate, latency bound) are derived from the system's
measured latency, and recorded.
"""
from __future__ import annotations

import array
import hashlib
import json
import os
import platform
import queue
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np

from tinybench import benchmarks
from tinybench.errors import UserError
from tinybench.hostbench import samples as sample_library
from tinybench.hostbench.systems import System, make_system
from tinybench.progress import progress_bar
from tinybench.report import loadgen_log
from tinybench.runner import scoring
from tinybench.runner.output import results_prefix
from tinybench.tflite import read_graph

MODES = ("performance", "accuracy")
SCENARIOS = loadgen_log.SCENARIOS
RANDOM_SAMPLES = 64           # distinct random inputs when no eval set is given
CALIBRATION_INFERENCES = 5    # timed before the run, to derive the settings a user left open
SERVER_UTILISATION = 0.5      # default server rate: half of what one inference at a time allows,
HARNESS_SECONDS = 0.0002      # counting this for each query's trip through LoadGen's Python
                              # callbacks and the worker thread (so a 0.1 ms model is not asked
                              # for 5,000 queries a second)
SERVER_BOUND_FACTOR = 10      # default server latency bound: ten inferences ...
SERVER_MIN_BOUND_S = 0.010    # ... but at least 10 ms
OFFLINE_RATE_MARGIN = 2.0     # default offline expected rate: twice the measured one, since a
                              # rate above the expectation ends the run before its min duration
# Default minimum query counts: the fewest with which LoadGen's early stopping can succeed for the
# scenario's percentile (90th for single-stream, 99th for multi-stream and server), and one
# query of many samples for offline.
MIN_QUERIES = {"single-stream": 64, "multi-stream": 662, "server": 662, "offline": 1}


@dataclass
class Settings:
    duration_s: float = 10.0              # LoadGen's min_duration
    min_queries: int | None = None        # LoadGen's min_query_count; None: MIN_QUERIES
    seed: int | None = None               # LoadGen's three RNG seeds; None: LoadGen's defaults
    samples_per_query: int = 8            # multi-stream
    target_qps: float | None = None       # server arrival rate / offline expected rate
    target_latency_ms: float | None = None  # server bound / multi-stream expected latency
    threads: int = 1                      # LiteRT interpreter threads


def _lg():
    try:
        import mlperf_loadgen
    except ImportError:   # pragma: no cover - depends on the install
        raise UserError("hostbench needs MLPerf LoadGen: pip install 'tinybench[runtime]' "
                        "(the mlcommons-loadgen package)") from None
    return mlperf_loadgen


def _test_settings(lg, scenario: str, mode: str, s: Settings, latency_s: float) -> tuple:
    """LoadGen's TestSettings, and what was derived for it (recorded beside the results)."""
    t = lg.TestSettings()
    t.scenario = {"single-stream": lg.TestScenario.SingleStream,
                  "multi-stream": lg.TestScenario.MultiStream,
                  "server": lg.TestScenario.Server,
                  "offline": lg.TestScenario.Offline}[scenario]
    t.mode = lg.TestMode.AccuracyOnly if mode == "accuracy" else lg.TestMode.PerformanceOnly
    t.min_duration_ms = int(s.duration_s * 1000)
    t.min_query_count = s.min_queries or MIN_QUERIES[scenario]
    if s.seed is not None:
        t.qsl_rng_seed = t.sample_index_rng_seed = t.schedule_rng_seed = s.seed
    derived = {"measured_latency_ms": latency_s * 1e3}
    if scenario == "single-stream":
        t.single_stream_expected_latency_ns = int(latency_s * 1e9)
    elif scenario == "multi-stream":
        t.multi_stream_samples_per_query = s.samples_per_query
        expected = (s.target_latency_ms / 1e3 if s.target_latency_ms
                    else latency_s * s.samples_per_query)
        t.multi_stream_expected_latency_ns = int(expected * 1e9)
        derived["expected_latency_ms"] = expected * 1e3
    elif scenario == "server":
        qps = s.target_qps or SERVER_UTILISATION / (latency_s + HARNESS_SECONDS)
        bound = (s.target_latency_ms / 1e3 if s.target_latency_ms
                 else max(SERVER_BOUND_FACTOR * latency_s, SERVER_MIN_BOUND_S))
        t.server_target_qps = qps
        t.server_target_latency_ns = int(bound * 1e9)
        derived.update(target_qps=qps, latency_bound_ms=bound * 1e3)
    else:
        qps = s.target_qps or OFFLINE_RATE_MARGIN / latency_s
        t.offline_expected_qps = qps
        derived["expected_qps"] = qps
    return t, derived


class _Worker:
    """Answers LoadGen's queries on one thread (interpreters are not thread-safe), so that
    LoadGen's own issuing thread never waits on an inference."""

    def __init__(self, lg, system: System, library: list, bar):
        self.lg, self.system, self.library, self.bar = lg, system, library, bar
        self.queue: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def issue(self, query_samples):
        self.queue.put(list(query_samples))

    def _serve(self):
        while True:
            batch = self.queue.get()
            if batch is None:
                return
            for qs in batch:
                values = b""
                if self.error is None and not self.stop:
                    try:
                        values = self.system.infer(self.library[qs.index]).astype(
                            np.float32).tobytes()
                    except BaseException as exc:   # reported after LoadGen returns
                        self.error = exc
                # LoadGen copies the response in accuracy mode while this call runs
                buffer = array.array("B", values or b"\0")
                address, _ = buffer.buffer_info()
                self.lg.QuerySamplesComplete(
                    [self.lg.QuerySampleResponse(qs.id, address, len(values))])
                self.bar.update(1)

    def close(self):
        self.queue.put(None)
        self.thread.join()


def _measure_latency(system: System, library: list) -> float:
    """Seconds per inference, the best of a few (the first one warms the system up)."""
    times = []
    for i in range(CALIBRATION_INFERENCES + 1):
        started = time.perf_counter()
        system.infer(library[i % len(library)])
        times.append(time.perf_counter() - started)
    return max(min(times[1:]), 1e-6)


def _run_loadgen(lg, system: System, library: list, settings, folder: Path, mode: str) -> None:
    log_output = lg.LogOutputSettings()
    log_output.outdir = str(folder)
    log_output.copy_summary_to_stdout = False
    log_settings = lg.LogSettings()
    log_settings.log_output = log_output
    log_settings.enable_trace = False
    total = len(library) if mode == "accuracy" else None
    with progress_bar(total=total, desc=f"LoadGen {mode}", unit="sample") as bar:
        worker = _Worker(lg, system, library, bar)
        sut = lg.ConstructSUT(worker.issue, lambda: None)
        qsl = lg.ConstructQSL(len(library), len(library), lambda _: None, lambda _: None)
        # LoadGen blocks in C++: run it on a thread, so Ctrl-C reaches us and lets it finish fast
        test = threading.Thread(target=lg.StartTestWithLogSettings,
                                args=(sut, qsl, settings, log_settings), daemon=True)
        test.start()
        try:
            while test.is_alive():
                test.join(0.2)
        except KeyboardInterrupt:
            worker.stop = True
            bar.write("interrupted: answering LoadGen's remaining queries empty so that it "
                      "ends; these results are not valid")
            test.join()
            raise
        finally:
            worker.close()
            lg.DestroyQSL(qsl)
            lg.DestroySUT(sut)
    if worker.error is not None:
        error = worker.error
        raise UserError(f"the system under test failed during the LoadGen run: {error}") \
            if not isinstance(error, UserError) else error


def score_accuracy_log(folder: Path, library: list, bench, num_classes: int | None) -> dict:
    """LoadGen's mlperf_log_accuracy.json, scored as the MLPerf Tiny runner scores results."""
    entries = json.loads((folder / loadgen_log.ACCURACY_LOG).read_text())
    steps = []
    for entry in entries:
        sample = library[int(entry["qsl_idx"])]
        values = np.frombuffer(bytes.fromhex(entry["data"]), dtype=np.float32)
        steps.append({"file": sample.file, "class": sample.label,
                      "infer": {"results": values.tolist()}})
    seen = {(library[int(e["qsl_idx"])].file, library[int(e["qsl_idx"])].window)
            for e in entries}
    if len(seen) != len(library):
        raise UserError(f"{folder / loadgen_log.ACCURACY_LOG}: {len(seen)} of {len(library)} "
                        f"samples answered; the accuracy run is incomplete")
    summary = scoring.accuracy(steps, num_classes or (bench.num_classes if bench else 0))
    return {"files": summary.files, "top1": summary.top1, "auc": summary.auc,
            "auc_problem": summary.auc_problem}


def _accuracy_lines(accuracy: dict) -> list[str]:
    prefix = results_prefix()
    lines = [prefix + f"Top 1% = {accuracy['top1']:2.1f}"]
    lines.append(prefix + (f"AUC = {accuracy['auc']:.3f}" if accuracy["auc"] is not None
                           else f"AUC not available: {accuracy['auc_problem']}"))
    return lines


def _host() -> dict:
    return {"machine": platform.machine(), "processor": platform.processor(),
            "system": f"{platform.system()} {platform.release()}", "python":
            platform.python_version(), "cpus": os.cpu_count()}


def run(model: Path, scenario: str, mode: str = "performance", system_under_test: str = "litert",
        settings: Settings | None = None, dataset: Path | None = None,
        random_inputs: bool = False, out: Path = Path("results"), system: str | None = None,
        port: str | None = None, emulate: str | None = None, baud: int | None = None) -> Path:
    """Run one scenario in one mode; returns the test folder holding LoadGen's files."""
    if scenario not in SCENARIOS:
        raise UserError(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    if mode not in MODES:
        raise UserError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    if (dataset is None) == (not random_inputs):
        raise UserError("give --dataset EVALDIR (an eval set in the MLPerf Tiny format), or "
                        "--random-inputs for a performance run without one")
    if random_inputs and mode == "accuracy":
        raise UserError("accuracy mode needs --dataset EVALDIR: random inputs have no labels")
    s = settings or Settings()
    if system_under_test == "dut" and scenario != "single-stream":
        raise UserError("a DUT answers one inference at a time: use --scenario single-stream")
    model = Path(model)
    if not model.is_file():
        raise UserError(f"{model}: no such model file")
    graph = read_graph(model)
    if graph.input.dtype != np.int8 or graph.output.dtype != np.int8:
        raise UserError(f"{model}: hostbench runs full-int8 models (int8 input and output); "
                        f"quantize it first with `tinybench quantize`")
    bench = benchmarks.match_model(graph.input.shape, graph.output.shape)
    if dataset is not None and bench is None:
        raise UserError(f"{model} is none of the MLPerf Tiny benchmarks, so an eval set cannot "
                        f"be read for it: use --random-inputs")
    if dataset is not None:
        library = sample_library.from_eval_set(Path(dataset), bench, graph.input)
    else:
        library = sample_library.random_samples(
            graph.input, bench.eval_file_dtype if bench else "int8", RANDOM_SAMPLES,
            s.seed or 0)
    lg = _lg()
    sut = make_system(system_under_test, model, graph, bench, threads=s.threads, port=port,
                      emulate=emulate, baud=baud)
    system = system or f"host-{system_under_test}"
    folder = (Path(out) / system / (bench.submission_name if bench else model.stem)
              / f"{loadgen_log.TEST_PREFIX}{scenario}-{mode}")
    try:
        latency = _measure_latency(sut, library)
        test_settings, derived = _test_settings(lg, scenario, mode, s, latency)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in (loadgen_log.SUMMARY, loadgen_log.RECORD, loadgen_log.ACCURACY_SCORES):
            (folder / stale).unlink(missing_ok=True)   # a stale one must not outlive this run
        started = datetime.now().isoformat(timespec="seconds")
        _run_loadgen(lg, sut, library, test_settings, folder, mode)
        description = sut.describe()
    finally:
        sut.close()
    record = dict(tool="tinybench hostbench", loadgen=version("mlcommons-loadgen"),
                  scenario=scenario, mode=mode, system_under_test=system_under_test,
                  system_description=description, model=str(model),
                  model_md5=hashlib.md5(model.read_bytes()).hexdigest(),
                  benchmark=bench.id if bench else None, system=system, started=started,
                  dataset=str(dataset) if dataset else None, samples=len(library),
                  host=_host(), settings=asdict(s), derived=derived)
    if mode == "accuracy":
        record["accuracy"] = score_accuracy_log(folder, library, bench, None)
        (folder / loadgen_log.ACCURACY_SCORES).write_text("\n".join(_accuracy_lines(record["accuracy"])) + "\n")
    (folder / loadgen_log.RECORD).write_text(json.dumps(record, indent=1) + "\n")
    return folder
