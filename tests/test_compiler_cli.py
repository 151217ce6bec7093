"""`tinybench compile`: files and report on success; on bad input (truncated or corrupt files, an
unsupported op, a float model) a one-line error, exit code 1, and no model files left behind."""
from __future__ import annotations

import json

import numpy as np
import pytest

from test_compiler_ops import ModelBuilder
from tinybench.compiler.compile import compile_model
from tinybench.errors import UserError
from tinybench.tflite import read_graph, total_macs


def test_compile_writes_model_files_and_report(cli, official_model, tmp_path):
    model = official_model("kws01")
    out = tmp_path / "kws"
    result = cli("compile", model, "--out", out, "--name", "kws_ref")
    assert result.exit_code == 0, result.output
    assert f"{total_macs(read_graph(model)):,}" in result.output
    assert (out / "model.h").is_file() and (out / "model.c").is_file()
    assert '#define TB_MODEL_NAME "kws_ref"' in (out / "model.h").read_text()
    report = json.loads((out / "report.json").read_text())
    assert report["name"] == "kws_ref" and report["benchmark"] == "kws01"
    assert len(report["layers"]) == len(read_graph(model).operators)
    assert not list(out.glob("*.partial"))


def test_compile_check_reports_agreement(cli, official_model, tmp_path):
    result = cli("compile", official_model("ad01"), "--out", tmp_path / "ad", "--check")
    assert result.exit_code == 0, result.output
    assert "agree on every layer" in result.output
    assert result.output.count(" ok\n") == len(read_graph(official_model("ad01")).operators)


def _assert_refused(cli, model_path, out, *phrases):
    result = cli("compile", model_path, "--out", out)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    assert not (out / "model.c").exists() and not (out / "model.h").exists()
    return lines[0]


@pytest.mark.parametrize("keep", [0.02, 0.3, 0.5, 0.9, 0.999])
def test_truncated_model_is_refused(cli, official_model, tmp_path, keep):
    data = official_model("kws01").read_bytes()
    bad = tmp_path / "cut.tflite"
    bad.write_bytes(data[:max(8, int(len(data) * keep))])
    _assert_refused(cli, bad, tmp_path / "out", "truncated or corrupt")


def test_corrupt_models_are_refused(cli, official_model, tmp_path):
    data = bytearray(official_model("kws01").read_bytes())
    no_identifier = bytearray(data)
    no_identifier[4:8] = b"XXXX"
    (tmp_path / "a.tflite").write_bytes(no_identifier)
    _assert_refused(cli, tmp_path / "a.tflite", tmp_path / "out_a", "not a TFLite model")
    bad_root = bytearray(data)
    bad_root[0:4] = (len(data) + 1000).to_bytes(4, "little")    # root table beyond the end
    (tmp_path / "b.tflite").write_bytes(bad_root)
    _assert_refused(cli, tmp_path / "b.tflite", tmp_path / "out_b", "truncated or corrupt")
    garbage = b"\x10\x00\x00\x00TFL3" + np.random.default_rng(0).bytes(2000)
    (tmp_path / "c.tflite").write_bytes(garbage)
    _assert_refused(cli, tmp_path / "c.tflite", tmp_path / "out_c")


def test_missing_file_is_refused(cli, tmp_path):
    _assert_refused(cli, tmp_path / "nope.tflite", tmp_path / "out", "no such file")


def test_unsupported_op_is_refused_with_its_name_and_index(cli, tmp_path):
    m = ModelBuilder(0)
    x = m.activation((1, 4, 4, 2), 0.05, 0)
    y = m.activation((1, 4, 4, 2), 0.05, 0)
    z = m.activation((1, 4, 4, 2), 1 / 128, 0)
    m.op("MAX_POOL_2D", [x], [y], "Pool2DOptions", padding=0, strideH=1, strideW=1,
         filterHeight=2, filterWidth=2)
    m.op("TANH", [y], [z])
    path = tmp_path / "tanh.tflite"
    path.write_bytes(m.build([x], [z]))
    line = _assert_refused(cli, path, tmp_path / "out", "operator 1 (TANH)", "not supported")
    assert "CONV_2D" in line     # says what is supported


def test_float_model_is_refused(cli, float_model_dir, tmp_path):
    line = _assert_refused(cli, float_model_dir / "kws01_float32.tflite", tmp_path / "out",
                           "float32", "int8")
    assert "quantize" in line


def test_bad_name_is_refused(official_model, tmp_path):
    with pytest.raises(UserError, match="--name"):
        compile_model(official_model("ad01"), tmp_path / "out", name="bad name;", measure=False)
