"""`tinybench hostbench`: MLPerf LoadGen driving each system under test on the official kws01
model, its own log files, and accuracy mode against `tinybench run --mode accuracy`."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from cli_errors import one_line_error
from test_firmware_models import AD_WINDOWS_PER_FILE, write_eval_set
from tinybench import benchmarks
from tinybench import hostbench as hb
from tinybench.dut.host import HostDut
from tinybench.errors import UserError
from tinybench.report import loadgen_log

# Short runs: LoadGen's own minimum query counts (early stopping) still apply.
QUICK = hb.Settings(duration_s=0.3, samples_per_query=2)
HOST_SYSTEMS = [s for s in hb.SYSTEMS if s != "dut"]


def summary_text(folder) -> str:
    return (folder / loadgen_log.SUMMARY).read_text()


@pytest.mark.parametrize("system", HOST_SYSTEMS)
def test_every_scenario_is_valid_on_kws01(official_model, tmp_path, system):
    for scenario in hb.SCENARIOS:
        folder = hb.run(official_model("kws01"), scenario, "performance", system, QUICK,
                        random_inputs=True, out=tmp_path)
        assert folder == tmp_path / f"host-{system}" / "kws" / f"hostbench-{scenario}-performance"
        text = summary_text(folder)
        assert "Result is : VALID" in text, text
        assert re.search(r"^Scenario : " + {"single-stream": "SingleStream",
                                            "multi-stream": "MultiStream", "server": "Server",
                                            "offline": "Offline"}[scenario] + "$", text, re.M)
        assert (folder / loadgen_log.DETAIL).read_text().startswith(":::MLLOG")
        record = json.loads((folder / loadgen_log.RECORD).read_text())
        assert record["system_under_test"] == system and record["benchmark"] == "kws01"
        summary = loadgen_log.read_summary(folder)
        assert summary.valid is True and summary.percentiles_ms()["p50"] > 0


def test_server_settings_come_from_the_measured_latency_unless_given(official_model, tmp_path):
    folder = hb.run(official_model("kws01"), "server", "performance", "compiled",
                    hb.Settings(duration_s=0.5, min_queries=30, target_qps=100,
                                target_latency_ms=200),
                    random_inputs=True, out=tmp_path)
    text = summary_text(folder)
    assert re.search(r"^target_qps : 100$", text, re.M)
    assert re.search(r"^target_latency \(ns\): 200000000$", text, re.M)
    # At 100 queries a second (Poisson) LoadGen schedules about that many.
    assert 50 < loadgen_log.read_summary(folder).number("Scheduled samples per second") < 200


def test_an_impossible_server_rate_is_invalid(official_model, tmp_path):
    # ten times what tflite-micro answers (about 5 ms a query), with a bound of 2 ms
    folder = hb.run(official_model("kws01"), "server", "performance", "tflm",
                    hb.Settings(duration_s=0.05, min_queries=50, target_qps=2000,
                                target_latency_ms=2),
                    random_inputs=True, out=tmp_path)
    assert "Result is : INVALID" in summary_text(folder)
    assert loadgen_log.read_summary(folder).valid is False


@pytest.mark.parametrize("bench_id", ["kws01", "ad01"])
def test_accuracy_equals_the_runner_on_the_dut(bench_id, official_model, host_dut_program,
                                               tmp_path, cli):
    bench = benchmarks.get(bench_id)
    dataset = tmp_path / "eval"
    write_eval_set(bench, dataset, 24)
    with HostDut(host_dut_program(bench_id)) as dut:
        ran = cli("run", "--port", dut.port, "--mode", "accuracy", "--dataset", dataset,
                  "--out", tmp_path / "run")
        assert ran.exit_code == 0, ran.output
        scores = {"runner": (tmp_path / f"run/closed/tinybench/results/dut/"
                             f"{bench.submission_name}/accuracy/results.txt").read_text()}
        folder = hb.run(official_model(bench_id), "single-stream", "accuracy", "dut", QUICK,
                        dataset=dataset, out=tmp_path / "hb", port=dut.port)
        scores["dut"] = (folder / loadgen_log.ACCURACY_SCORES).read_text()
    for system in ("compiled", "tflm"):
        folder = hb.run(official_model(bench_id), "offline", "accuracy", system, QUICK,
                        dataset=dataset, out=tmp_path / "hb")
        scores[system] = (folder / loadgen_log.ACCURACY_SCORES).read_text()
        entries = json.loads((folder / loadgen_log.ACCURACY_LOG).read_text())
        assert len(entries) == 24 * (AD_WINDOWS_PER_FILE if bench.window_bytes else 1)   # every sample once

    def metric(text, name):
        return float(re.search(rf"{name} = ([\d.]+)", text).group(1))
    for name in ("Top 1%", "AUC"):
        values = {system: metric(text, name) for system, text in scores.items()}
        assert len(set(values.values())) == 1, values


def test_bad_requests_are_one_line_errors(official_model, tmp_path, cli):
    model = official_model("kws01")
    cases = [
        ((), "give --dataset EVALDIR"),
        (("--mode", "accuracy", "--random-inputs"), "accuracy mode needs --dataset"),
        (("--random-inputs", "--system-under-test", "dut"), "needs --port PORT"),
        (("--scenario", "offline", "--random-inputs", "--system-under-test", "dut",
          "--port", "loop://"), "use --scenario single-stream"),
        (("--dataset", tmp_path / "none"), "y_labels.csv: no such file"),
    ]
    for extra, message in cases:
        args = ["hostbench", model, *extra]
        if "--scenario" not in extra:
            args[2:2] = ["--scenario", "single-stream"]
        assert message in one_line_error(cli(*args, "--out", tmp_path))
    not_a_model = tmp_path / "notes.tflite"
    not_a_model.write_text("hello")
    one_line_error(cli("hostbench", not_a_model, "--scenario", "offline", "--random-inputs"))
    assert not (tmp_path / "host-litert").exists()


def test_random_samples_are_payloads_the_dut_turns_into_their_inputs(official_model):
    from tinybench.tflite import read_graph
    for bench_id in ("kws01", "ic01", "ad01"):
        bench = benchmarks.get(bench_id)
        graph = read_graph(official_model(bench_id))
        samples = hb.samples.random_samples(graph.input, bench.eval_file_dtype, 3, seed=1)
        for s in samples:
            assert len(s.payload) == bench.eval_file_bytes
            again = hb.samples.model_input(s.payload, bench.eval_file_dtype, graph.input)
            assert np.array_equal(again, s.model_input)
        joined = np.concatenate([s.model_input for s in samples])
        assert joined.min() < -100 and joined.max() > 100


def test_quantizing_a_float_payload_rounds_halves_away_from_zero():
    from tinybench.hostbench.samples import quantize_half_away
    q = quantize_half_away(np.array([0.5, -0.5, 1.5, -1.5, 1e9, -1e9, np.nan], np.float32),
                           1.0, 0)
    assert q.tolist() == [1, -1, 2, -2, 127, -128, 0]
    with pytest.raises(UserError):
        hb.samples.model_input(b"\0" * 3, "int8", type("T", (), {"size": 4, "scale": [1.0],
                                                                  "zero_point": [0]})())


def test_a_dut_over_serial_is_valid_single_stream(official_model, host_dut_program, tmp_path):
    with HostDut(host_dut_program("kws01")) as dut:
        folder = hb.run(official_model("kws01"), "single-stream", "performance", "dut", QUICK,
                        random_inputs=True, out=tmp_path, port=dut.port)
    assert "Result is : VALID" in summary_text(folder)
    record = json.loads((folder / loadgen_log.RECORD).read_text())
    assert "db load + infer 1 0" in record["system_description"]
