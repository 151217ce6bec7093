"""The four official models on the host DUT, through the serial protocol and the runner: accuracy
mode gives, for every input, what tflite-micro gives on the same input (after the reference's input
conversion and result printing); performance mode runs 5 windows and takes their median."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tinybench import benchmarks, tflm
from tinybench.data import evalset
from tinybench.dut.host import HostDut
from tinybench.runner import RunOptions, run
from tinybench.tflite import read_graph

BENCH_IDS = ["kws01", "vww01", "ic01", "ad01"]
FILES = {"kws01": 24, "vww01": 6, "ic01": 20, "ad01": 4}
AD_WINDOWS_PER_FILE = 3
# The submission checker's patterns (SPEC section 5).
CHECKER_ACCURACY = [re.compile(r".* Top[- ]1%?\s?[:=] ([\d\.]+).*"),
                    re.compile(r".* AUC\s?[:=] ([\d\.]+).*")]
CHECKER_PERFORMANCE = re.compile(r".* Median throughput is\s+([\d\.]+) inf\./sec\..*")


def write_eval_set(bench: benchmarks.Benchmark, folder, count: int) -> list:
    """Random but deterministic inputs in the MLPerf format, labels cycling through the classes."""
    rng = np.random.default_rng(list(map(ord, bench.id)))
    items = []
    for i in range(count):
        if bench.id == "ad01":
            floats = bench.window_bytes // 4 + (AD_WINDOWS_PER_FILE - 1) * bench.window_stride_bytes // 4
            payload = rng.normal(-35.0, 20.0, floats).astype(np.float32)
            payload[::97] = rng.choice([-500.0, 200.0, -84.9, 14.8], payload[::97].size)  # clamping
            ties = exact_ties(np.float32(bench.official_input_scale))
            payload[5:5 + 5 * len(ties):5] = ties   # halfway cases: rounding must be away from 0
        elif bench.eval_file_dtype == "int8":
            payload = rng.integers(-128, 128, bench.eval_file_bytes).astype(np.int8)
        else:
            payload = rng.integers(0, 256, bench.eval_file_bytes).astype(np.uint8)
        items.append((f"in_{i:04d}.bin", payload, i % bench.num_classes))
    evalset.write(folder, items, bench)
    return items


def exact_ties(scale: np.float32) -> np.ndarray:
    """Floats x whose float32 x / scale is exactly halfway between two integers, on both sides
    of zero, where rounding half away from zero and half to even differ for every other one."""
    found = []
    for half in np.arange(-150.5, 30.0, 1.0):
        x = np.float32(half * float(scale))
        for _ in range(4):
            if float(x / scale) == half:
                found.append(x)
                break
            x = np.nextafter(x, np.float32(np.inf) if float(x / scale) < half else np.float32(-np.inf))
    assert len(found) > 50
    return np.array(found[:60], dtype=np.float32)


def dequantize(q: np.ndarray, tensor) -> np.ndarray:
    return (q.astype(np.int32) - int(tensor.zero_point[0])).astype(np.float32) * \
        np.float32(tensor.scale[0])


def truncated(v: np.float32) -> str:
    """The kws01 reference's printing: "0." + (int)(p*10), (int)(p*100)%10, (int)(p*1000)%10."""
    return f"0.{int(v * np.float32(10))}{int(v * np.float32(100)) % 10}" \
           f"{int(v * np.float32(1000)) % 10}"


def expected_results(bench_id: str, model, interp, graph, payload: np.ndarray) -> list[list[float]]:
    """What the DUT must print for one eval file (one list per window), from tflite-micro."""
    if bench_id != "ad01":
        x = payload.astype(np.int8) if bench_id == "kws01" else \
            (payload.astype(np.int16) - 128).astype(np.int8)
        out = dequantize(tflm.run(model, x, interp).reshape(-1), graph.output)
        if bench_id == "kws01":
            return [[float(truncated(v)) for v in out]]
        return [[float("%.3f" % v) for v in out]]
    results = []
    stride = benchmarks.get("ad01").window_stride_bytes // 4
    size = benchmarks.get("ad01").window_bytes // 4
    scale, zero = np.float32(graph.input.scale[0]), int(graph.input.zero_point[0])
    for start in range(0, payload.size - size + 1, stride):
        x = payload[start:start + size]
        scaled = (x / scale).astype(np.float64)          # float32 division, as in C
        rounded = np.trunc(scaled + np.copysign(0.5, scaled))   # round half away from zero
        q = np.clip(rounded + zero, -128, 127).astype(np.int8)
        out = dequantize(tflm.run(model, q, interp).reshape(-1), graph.output)
        diff = out - x
        mse = np.cumsum(diff * diff, dtype=np.float32)[-1] / np.float32(size)  # in order, float32
        results.append([float("%.3f" % mse)])
    return results


@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_accuracy_mode_gives_tflite_micro_outputs(bench_id, official_model, host_dut_program,
                                                   tmp_path):
    bench = benchmarks.get(bench_id)
    program = host_dut_program(bench_id)
    items = write_eval_set(bench, tmp_path / "eval", FILES[bench_id])
    with HostDut(program) as dut:
        result = run(RunOptions(port=dut.port, mode="accuracy", dataset=tmp_path / "eval",
                                out=tmp_path / "results", system="host"))
    folder = tmp_path / "results" / "closed" / "tinybench" / "results" / "host" / \
        bench.submission_name / "accuracy"
    assert result.results_dir == folder
    assert sorted(p.name for p in folder.iterdir()) == ["log.txt", "results.json", "results.txt"]

    model = official_model(bench_id)
    graph, interp = read_graph(model), tflm.interpreter(model)
    steps = json.loads((folder / "results.json").read_text())
    expected = {name: expected_results(bench_id, model, interp, graph, payload)
                for name, payload, _ in items}
    got: dict[str, list] = {}
    for step in steps:
        got.setdefault(step["file"], []).append(step["infer"]["results"])
        assert step["mode"] == "a" and step["infer"]["iterations"] == 1
    assert got == expected

    # the summary lines, parsed as the submission checker parses them
    lines = (folder / "results.txt").read_text().splitlines()
    top1, auc = (float(next(m.group(1) for m in map(p.match, lines) if m))
                 for p in CHECKER_ACCURACY)
    labels = np.array([label for _, _, label in items])
    if bench_id == "ad01":
        scores = np.array([np.mean(expected[name]) for name, _, _ in items])
        from sklearn.metrics import roc_auc_score
        assert auc == pytest.approx(roc_auc_score(labels, scores), abs=5e-4)
    else:
        predicted = np.array([np.argmax(expected[name][0]) for name, _, _ in items])
        assert top1 == pytest.approx(100 * np.mean(predicted == labels), abs=0.05)
    # every exchange is in the log
    log = (folder / "log.txt").read_text()
    assert log.count("> db load ") == len(steps)
    assert log.count("< m-results-[") == len(steps)


def test_performance_mode_runs_five_windows_and_takes_the_median(host_dut_program, tmp_path):
    bench = benchmarks.get("ad01")
    program = host_dut_program("ad01")
    write_eval_set(bench, tmp_path / "eval", 6)
    with HostDut(program) as dut:
        result = run(RunOptions(port=dut.port, mode="performance", dataset=tmp_path / "eval",
                                out=tmp_path / "results", system="host", short_window=0.25))
    steps = json.loads((result.results_dir / "results.json").read_text())
    assert [s["window"] for s in steps] == [1, 2, 3, 4, 5]
    assert [s["file"] for s in steps] == [f"in_{i:04d}.bin" for i in range(5)]
    for step in steps:
        infer = step["infer"]
        assert infer["warmups"] == bench.performance.warmups
        assert infer["iterations"] >= 10 and infer["elapsed_time"] >= 0.25e6
        assert infer["throughput"] == pytest.approx(infer["iterations"] * 1e6 / infer["elapsed_time"])
    median = float(np.median([s["infer"]["throughput"] for s in steps]))
    assert result.summary["median_throughput"] == pytest.approx(median)
    assert result.summary["latency_ms"] == pytest.approx(1000 / median)
    assert result.summary["valid_for_submission"] is False
    text = (result.results_dir / "results.txt").read_text()
    assert "not valid for submission" in text and f"{median:.3f} inf./sec." in text
    # a short run must not carry the line the submission checker takes a result from
    assert not any(CHECKER_PERFORMANCE.match(line) for line in text.splitlines())
