"""`tinybench run` and `tinybench emulate` from the command line: the emulated path from a .tflite
to results, a model that is none of the four (open division), a port with no DUT, and an emulated
DUT that never outlives the program that started it."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import serial

from tinybench import benchmarks, tflm
from tinybench.data import evalset
from tinybench.tflite import read_graph


def kws_eval_set(folder, count=12):
    bench = benchmarks.get("kws01")
    rng = np.random.default_rng(5)
    evalset.write(folder, [(f"k{i:02d}.bin", rng.integers(-128, 128, 490).astype(np.int8),
                            i % 12) for i in range(count)], bench)
    return folder


def test_run_emulate_goes_from_a_tflite_to_results(cli, official_model, tmp_path_factory,
                                                   tmp_path):
    result = cli("run", "--emulate", "host", "--model", official_model("kws01"),
                 "--mode", "accuracy", "--dataset", kws_eval_set(tmp_path / "eval"),
                 "--out", tmp_path / "out", "--submitter", "acme",
                 "--build-dir", tmp_path_factory.getbasetemp() / "dut-kws01")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "closed" / "acme" / "results" / "host" / "kws" / "accuracy"
    assert re.search(r"^\d{4}\.\d{6} ulp-mlperf: Top 1% = \d+\.\d$", result.stdout, re.M)
    assert re.search(r"^\d{4}\.\d{6} ulp-mlperf: AUC = \d\.\d{3}$", result.stdout, re.M)
    assert f"results: {folder}" in result.stdout
    assert len(json.loads((folder / "results.json").read_text())) == 12


def test_a_model_that_is_none_of_the_four_reports_its_dequantized_outputs(cli, modelgen_cache,
                                                                         tmp_path):
    import modelgen
    model = tmp_path / "tiny_open.tflite"
    model.write_bytes(modelgen.generate(1, "dense_per_tensor", cache_dir=modelgen_cache))
    graph = read_graph(model)
    assert benchmarks.match_model(graph.input.shape, graph.output.shape) is None
    outputs = graph.output.size
    rng = np.random.default_rng(2)
    (tmp_path / "eval").mkdir()
    inputs = [rng.integers(-128, 128, graph.input.size).astype(np.int8) for _ in range(6)]
    for i, x in enumerate(inputs):
        x.tofile(tmp_path / "eval" / f"x{i}.bin")
    (tmp_path / "eval" / "y_labels.csv").write_text(
        "".join(f"x{i}.bin,{outputs},{i % outputs}\n" for i in range(len(inputs))))

    result = cli("run", "--emulate", "host", "--model", model, "--mode", "accuracy",
                 "--dataset", tmp_path / "eval", "--out", tmp_path / "out",
                 "--build-dir", tmp_path / "build")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "open" / "tinybench" / "results" / "host" / "tiny_open" / \
        "accuracy"
    steps = json.loads((folder / "results.json").read_text())
    interp = tflm.interpreter(model)
    scale, zero = np.float32(graph.output.scale[0]), int(graph.output.zero_point[0])
    for step, x in zip(steps, inputs):
        out = (tflm.run(model, x, interp).reshape(-1).astype(np.int32) - zero).astype(np.float32)
        assert step["infer"]["results"] == [float("%.3f" % v) for v in out * scale]
    assert "Top 1% =" in result.output


def test_run_needs_a_port_or_an_emulated_board(cli, tmp_path):
    result = cli("run", "--mode", "accuracy", "--dataset", tmp_path, "--out", tmp_path)
    assert result.exit_code == 1
    assert "give either --port PORT or --emulate host --model MODEL.tflite" in result.output


def test_a_port_without_a_dut_gets_a_clear_message(cli, tmp_path):
    started = time.monotonic()
    result = cli("run", "--port", "loop://", "--mode", "accuracy",
                 "--dataset", kws_eval_set(tmp_path / "eval", 2), "--out", tmp_path / "out",
                 "--timeout", "0.2")
    assert result.exit_code == 1
    assert "no MLPerf Tiny DUT answered on loop:// at 115200, 921600 baud" in result.output
    assert "Traceback" not in result.output and time.monotonic() - started < 10
    assert not (tmp_path / "out").exists()


def test_emulate_prints_the_port_and_its_dut_dies_with_it(official_model, tmp_path_factory):
    process = subprocess.Popen(
        [sys.executable, "-m", "tinybench.cli", "emulate", "--model", official_model("kws01"),
         "--build-dir", str(tmp_path_factory.getbasetemp() / "dut-kws01")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = process.stdout.readline().strip()
        with serial.Serial(port, 115200, timeout=2) as line:
            line.write(b"name%")
            assert line.read_until(b"m-ready\r\n") == b"m-name-dut-[unspecified]\r\nm-ready\r\n"
        note = ""
        while "(pid" not in note:
            note = process.stderr.readline()
            assert note, "emulate said nothing about its DUT process"
        dut_pid = int(re.search(r"\(pid (\d+)\)", note).group(1))
        process.send_signal(signal.SIGKILL)    # even a launcher killed outright takes it along
        process.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(dut_pid):
            time.sleep(0.05)
        assert not _alive(dut_pid)
    finally:
        if process.poll() is None:
            process.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:      # a zombie has exited
        return stat.read().split(")")[-1].split()[0] != "Z"
