"""`tinybench inspect` on the official int8 models: MACs, parameters, ops and the TFLM arena the
issue asks for, and one-line errors for files that are not (complete) TFLite models."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli_errors import one_line_error
from tinybench import benchmarks

# Measured facts about the official int8 models (../shared/mlperf-tiny/README.md): the figures the
# issue makes `inspect` report.
OFFICIAL_FIGURES = {
    "kws01": dict(macs=2_656_768, parameters=22_606, arena=24_272,
                  ops={"CONV_2D": 5, "DEPTHWISE_CONV_2D": 4, "AVERAGE_POOL_2D": 1, "RESHAPE": 1,
                       "FULLY_CONNECTED": 1, "SOFTMAX": 1}),
    "vww01": dict(macs=7_489_664, parameters=210_852, arena=103_680,
                  ops={"CONV_2D": 14, "DEPTHWISE_CONV_2D": 13, "AVERAGE_POOL_2D": 1,
                       "RESHAPE": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1}),
    "ic01": dict(macs=12_501_632, parameters=77_708, arena=55_984,
                 ops={"CONV_2D": 9, "ADD": 3, "AVERAGE_POOL_2D": 1, "RESHAPE": 1,
                      "FULLY_CONNECTED": 1, "SOFTMAX": 1}),
    "ad01": dict(macs=264_192, parameters=265_864, arena=3_984, ops={"FULLY_CONNECTED": 10}),
}


@pytest.mark.parametrize("bench_id", list(OFFICIAL_FIGURES))
def test_inspect_json_reports_the_official_figures(bench_id, cli, official_model):
    result = cli("inspect", official_model(bench_id), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    want = OFFICIAL_FIGURES[bench_id]
    bench = benchmarks.get(bench_id)
    assert report["benchmark"] == bench_id
    assert report["macs"] == want["macs"]
    assert report["parameters"] == want["parameters"]
    assert report["tflm_arena_bytes"] == want["arena"]
    assert report["ops"] == want["ops"]
    assert sum(layer["macs"] for layer in report["layers"]) == want["macs"]
    assert report["input"]["shape"] == list(bench.input_shape)
    assert report["input"]["dtype"] == "int8"
    assert report["input"]["quantization"]["scale"] == pytest.approx(bench.official_input_scale,
                                                                     rel=1e-6)
    assert report["input"]["quantization"]["zero_point"] == bench.official_input_zero_point


def test_inspect_text_report(cli, official_model):
    result = cli("inspect", official_model("ic01"))
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "MACs         12,501,632" in text
    assert "TFLM arena   55,984 bytes" in text
    assert "input        int8 [1, 32, 32, 3]  scale 1, zero point -128" in text
    layer_rows = [line for line in text.splitlines() if line[:3].strip().isdigit()]
    assert len(layer_rows) == 16  # one row per operator
    assert "CONV_2D" in layer_rows[0] and "16x3x3x3" in layer_rows[0]


def test_inspect_accepts_a_float_model_tflm_cannot_run(cli, float_model_dir, official_model):
    """The official kws01_float32.tflite is a hybrid model (int8 conv weights, float
    activations): inspect still reports it, and says why TFLM gives no arena figure."""
    result = cli("inspect", float_model_dir / "kws01_float32.tflite", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["input"]["dtype"] == "float32" and "quantization" not in report["input"]
    assert report["tflm_arena_bytes"] is None
    assert "Hybrid models are not supported" in report["tflm_error"]
    int8 = json.loads(cli("inspect", official_model("kws01"), "--json").stdout)
    assert report["macs"] == int8["macs"]
    assert report["ops"] == int8["ops"]


def test_inspect_missing_file(cli, tmp_path):
    assert "no such file" in one_line_error(cli("inspect", tmp_path / "absent.tflite"))


def test_inspect_file_that_is_not_a_model(cli, tmp_path):
    path = tmp_path / "notes.tflite"
    path.write_text("these are notes, not a model\n")
    assert "not a TFLite model" in one_line_error(cli("inspect", path))
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    assert "not a TFLite model" in one_line_error(cli("inspect", empty))


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.999])
def test_inspect_truncated_model(cli, tmp_path, official_model, fraction):
    data = official_model("kws01").read_bytes()
    path = tmp_path / "truncated.tflite"
    path.write_bytes(data[:int(len(data) * fraction)])
    assert "truncated or corrupt" in one_line_error(cli("inspect", path))


def test_inspect_error_has_no_traceback_in_the_real_command(tmp_path):
    script = Path(sys.executable).parent / "tinybench"
    if not script.exists():
        pytest.skip(f"console script not installed at {script}")
    run = subprocess.run([str(script), "inspect", str(tmp_path / "absent.tflite")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "no such file" in lines[0]
