"""The firmware on an emulated Cortex-M4 (board qemu-an386 under QEMU): the four official models
through the serial protocol give tflite-micro's outputs, instruction counts repeat exactly, and the
reference board's build (nucleo-l4r5zi) links every official model within the part's memory."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from test_firmware_models import expected_results, write_eval_set
from tinybench import benchmarks, tflm
from tinybench.compiler.compile import compile_model
from tinybench.dut import firmware
from tinybench.dut.emulate import build_for_model
from tinybench.dut.protocol import DutClient
from tinybench.dut.qemu import QemuDut
from tinybench.dut.transport import open_port
from tinybench.errors import UserError
from tinybench.report import make_report
from tinybench.runner import RunOptions, run
from tinybench.tflite import read_graph, total_macs

for tool in ("qemu-system-arm", "arm-none-eabi-gcc"):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (make install puts it there as root: "
                    f"scripts/system-deps.sh)", allow_module_level=True)

# Files per accuracy run: a vww01 input is 892 `db` commands, so fewer of those.
FILES = {"kws01": 6, "vww01": 2, "ic01": 5, "ad01": 2}


@pytest.fixture(scope="module")
def qemu_image(official_model, tmp_path_factory):
    """qemu_image(bench_id) -> the qemu-an386 firmware for that official model (built once)."""
    built = {}

    def get(bench_id):
        if bench_id not in built:
            built[bench_id], _ = build_for_model(
                official_model(bench_id), board="qemu",
                build_dir=tmp_path_factory.getbasetemp() / f"qemu-{bench_id}")
        return built[bench_id]
    return get


@pytest.mark.parametrize("bench_id", ["kws01", "vww01", "ic01", "ad01"])
def test_accuracy_mode_on_qemu_gives_tflite_micro_outputs(bench_id, official_model, qemu_image,
                                                          tmp_path):
    bench = benchmarks.get(bench_id)
    items = write_eval_set(bench, tmp_path / "eval", FILES[bench_id])
    with QemuDut(qemu_image(bench_id)) as dut:
        result = run(RunOptions(port=dut.port, mode="accuracy", dataset=tmp_path / "eval",
                                out=tmp_path / "results", system="qemu"))
    model = official_model(bench_id)
    graph, interp = read_graph(model), tflm.interpreter(model)
    got: dict[str, list] = {}
    for step in json.loads((result.results_dir / "results.json").read_text()):
        got.setdefault(step["file"], []).append(step["infer"]["results"])
    assert got == {name: expected_results(bench_id, model, interp, graph, payload)
                   for name, payload, _ in items}


def test_performance_mode_on_qemu_reports_instructions_per_inference(official_model, qemu_image,
                                                                      tmp_path):
    model = official_model("kws01")
    write_eval_set(benchmarks.get("kws01"), tmp_path / "eval", 5)
    with QemuDut(qemu_image("kws01")) as dut:
        options = RunOptions(port=dut.port, mode="performance", dataset=tmp_path / "eval",
                             out=tmp_path / "results", system="qemu", short_window=0.2,
                             instructions_per_us=dut.instructions_per_us,
                             model_macs=total_macs(read_graph(model)))
        result = run(options)
    steps = json.loads((result.results_dir / "results.json").read_text())
    assert len(steps) == 5
    per_inference = [s["infer"]["elapsed_time"] * 1000 / s["infer"]["iterations"] for s in steps]
    assert result.summary["instructions_per_inference"] == pytest.approx(np.median(per_inference))
    # the windows run the same layers on different inputs: only data-dependent branches
    # (activation clamps) tell their counts apart
    assert max(per_inference) - min(per_inference) < 0.001 * min(per_inference)
    assert result.summary["macs_per_instruction"] == pytest.approx(
        2_656_768 / result.summary["instructions_per_inference"])
    text = (result.results_dir / "results.txt").read_text()
    assert "Median instructions per inference:" in text and "MACs per instruction:" in text
    # the report shows the counts in their own table, and says the latency is emulated time
    report = make_report([tmp_path / "results"], None)
    count = f"{round(result.summary['instructions_per_inference']):,}"
    assert "Instructions per inference (emulated Cortex-M" in report.text and count in report.text
    assert "qemu: an emulated clock that counts instructions" in report.text


def _instructions(image, data: bytes, iterations: int) -> list[int]:
    """Instruction counts of `infer iterations 0`, three times, in one QEMU run."""
    with QemuDut(image) as dut:
        port = open_port(dut.port, 115200)
        try:
            client = DutClient(port, line_timeout=10)
            client.load(data)
            return [client.infer(iterations, 0, timeout=60).elapsed_time * 1000 for _ in range(3)]
        finally:
            port.close()


def test_instruction_counts_repeat_exactly(qemu_image):
    image = qemu_image("ic01")
    data = np.random.default_rng(7).integers(0, 256, 3072, dtype=np.uint8).tobytes()
    first = _instructions(image, data, 3)
    second = _instructions(image, data, 3)
    assert first == second
    assert len(set(first)) == 1 and first[0] > 1_000_000


def test_nucleo_build_fits_every_official_model(official_model, tmp_path):
    for bench_id in ["kws01", "vww01", "ic01", "ad01"]:
        model_dir = tmp_path / bench_id / "model"
        compile_model(official_model(bench_id), model_dir, measure=False)
        elf = firmware.build(model_dir, tmp_path / bench_id, board="nucleo-l4r5zi")
        sizes = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True,
                               text=True, check=True).stdout
        section = {line.split()[0]: int(line.split()[1]) for line in sizes.splitlines()
                   if line.startswith(".")}
        assert section[".text"] < 2 * 1024 * 1024
        assert section.get(".data", 0) + section[".bss"] + section[".stack"] < 640 * 1024
        # the model's weights are in the image (flash), not copied to RAM
        assert section[".text"] > read_graph(official_model(bench_id)).input.size
        # the UART runs at the benchmark's official rate (ad01: 921600)
        baud = benchmarks.get(bench_id).baud_performance
        assert f"-DTB_BAUD_RATE={baud}u" in (tmp_path / bench_id / "cflags.txt").read_text()


def test_nucleo_build_refuses_a_model_too_big_for_the_part(tmp_path):
    """A model whose weights exceed the STM32L4R5's 2 MB of flash fails at link time, with a
    message that says so."""
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    inputs = keras.Input((1024,), batch_size=1)
    model = keras.Model(inputs, keras.layers.Dense(2100)(inputs))  # 2.15 M int8 weights

    def calibration():
        for _ in range(2):
            yield [np.random.default_rng(0).normal(size=(1, 1024)).astype(np.float32)]
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    big = tmp_path / "big.tflite"
    big.write_bytes(converter.convert())

    compile_model(big, tmp_path / "model", measure=False)
    with pytest.raises(UserError, match="does not fit.*flash"):
        firmware.build(tmp_path / "model", tmp_path / "build", board="nucleo-l4r5zi")
