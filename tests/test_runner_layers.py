"""Layers mode: `tinybench run --mode layers` builds the firmware with the per-layer hook, runs one
inference and writes the DUT's per-layer times; a firmware without the hook is refused clearly."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tinybench import benchmarks
from tinybench.data import evalset
from tinybench.dut.emulate import emulated_dut
from tinybench.errors import UserError
from tinybench.runner import RunOptions, run
from tinybench.tflite import read_graph


@pytest.fixture
def kws_eval(tmp_path):
    bench = benchmarks.get("kws01")
    rng = np.random.default_rng(3)
    evalset.write(tmp_path / "eval", [(f"f{i}.bin", rng.integers(-128, 128, 490).astype(np.int8), i)
                                      for i in range(2)], bench)
    return tmp_path / "eval"


def test_layers_mode_times_every_layer_of_the_model(official_model, kws_eval, tmp_path):
    model = official_model("kws01")
    with emulated_dut(model, "host", build_dir=tmp_path / "build", layer_hook=True) as dut:
        result = run(RunOptions(port=dut.port, mode="layers", dataset=kws_eval,
                                out=tmp_path / "results", system="host"))
    assert result.results_dir.name == "layers"
    opcodes = [op.opcode for op in read_graph(model).operators]
    lines = (result.results_dir / "results.txt").read_text().splitlines()
    assert [line.split("-")[3] for line in lines] == opcodes
    step = json.loads((result.results_dir / "results.json").read_text())[0]
    assert [layer["opcode"] for layer in step["layers"]] == opcodes
    assert step["file"] == "f0.bin"
    assert result.summary["total_us"] == sum(layer["us"] for layer in step["layers"])


def test_a_firmware_without_the_hook_is_refused_with_what_to_do(official_model, kws_eval,
                                                               tmp_path):
    with emulated_dut(official_model("kws01"), "host", build_dir=tmp_path / "build") as dut:
        with pytest.raises(UserError, match="TB_LAYER_HOOK"):
            run(RunOptions(port=dut.port, mode="layers", dataset=kws_eval,
                           out=tmp_path / "results", system="host"))
