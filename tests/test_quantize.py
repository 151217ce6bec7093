"""`tinybench quantize`: the official fp32 reference models quantize to the official int8 models'
structure; calibration inputs are converted the way the reference feeds its float models; bad
input gets a one-line error and leaves no output file behind."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli_errors import one_line_error
from test_architectures import as_if_trained, structure
from tinybench import benchmarks, quantize, tflm
from tinybench.data import evalset
from tinybench.errors import UserError
from tinybench.tflite import read_graph, total_macs

BENCH_IDS = ["kws01", "vww01", "ic01", "ad01"]
EVAL_FILES = 6
SAMPLES = 4
FLOAT_MODEL_NAMES = {"kws01": "kws_saved_model", "vww01": "vww01.h5", "ic01": "ic01.h5",
                     "ad01": "ad01.h5"}


def _random_payload(bench, rng) -> np.ndarray:
    """One eval file of random content in the benchmark's eval-file format (ad01: a 200 x 128
    log-mel spectrogram in the dB range of real ToyCar clips)."""
    if bench.id == "ad01":
        frames = bench.preprocessing["file_frames"]
        return rng.normal(-30.0, 10.0, frames * bench.preprocessing["n_mels"]).astype(np.float32)
    info = np.iinfo(bench.eval_file_dtype)
    return rng.integers(info.min, info.max + 1, bench.eval_file_bytes).astype(bench.eval_file_dtype)


def _write_eval_set(folder: Path, bench, count: int, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    items = [(f"{bench.id}_{i:03d}.bin", _random_payload(bench, rng), i % bench.num_classes)
             for i in range(count)]
    evalset.write(folder, items, bench)
    return folder


@pytest.fixture(scope="module")
def eval_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval_sets")
    return {b: _write_eval_set(root / b, benchmarks.get(b), EVAL_FILES) for b in BENCH_IDS}


@pytest.fixture(scope="module")
def quantized_official(tmp_path_factory, float_model_dir, eval_sets):
    """quantized_official('kws01') -> (summary, output path): the official fp32 model quantized
    through the command line, once per benchmark."""
    from click.testing import CliRunner
    from tinybench.cli import main
    out_dir = tmp_path_factory.mktemp("quantized")
    cache = {}

    def get(bench_id):
        if bench_id not in cache:
            out = out_dir / f"{bench_id}.tflite"
            result = CliRunner().invoke(main, [
                "quantize", bench_id, "--model", str(float_model_dir / FLOAT_MODEL_NAMES[bench_id]),
                "--calibration", str(eval_sets[bench_id]), "--out", str(out),
                "--samples", str(SAMPLES), "--json"], catch_exceptions=False)
            assert result.exit_code == 0, result.output
            cache[bench_id] = json.loads(result.stdout), out
        return cache[bench_id]
    return get


# ---------------------------------------------------------------------------------------------
# The official fp32 models


@pytest.mark.slow
@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_official_float_model_quantizes_to_the_official_structure(bench_id, quantized_official,
                                                                 official_model):
    summary, out = quantized_official(bench_id)
    ours = read_graph(out)
    official = read_graph(official_model(bench_id))
    assert structure(ours) == structure(official)
    assert total_macs(ours) == total_macs(official)
    # per-tensor fully-connected weights keep the arena at the official figure (ad01: 3,984 B
    # instead of 17,360 B with per-channel ones)
    assert tflm.arena_bytes(out) == tflm.arena_bytes(official_model(bench_id))
    assert summary["size_bytes"] == out.stat().st_size
    assert summary["input"]["dtype"] == summary["output"]["dtype"] == "int8"
    assert not out.with_name(out.name + ".tmp").exists()


@pytest.mark.slow
@pytest.mark.parametrize("bench_id", ["kws01", "vww01", "ic01"])
def test_eval_files_become_the_official_input_quantization(bench_id, quantized_official):
    """Random eval files cover the whole range of their byte format; converted as the reference
    feeds its float models (kws01 dequantized MFCC, vww01 pixels / 255, ic01 raw pixels), that
    range calibrates to exactly the official models' input scale and zero point."""
    summary, _ = quantized_official(bench_id)
    bench = benchmarks.get(bench_id)
    assert summary["input"]["scale"] == pytest.approx(bench.official_input_scale, rel=1e-5)
    assert summary["input"]["zero_point"] == bench.official_input_zero_point


@pytest.mark.slow
@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_int8_model_follows_the_float_model(bench_id, quantized_official):
    summary, _ = quantized_official(bench_id)
    agreement = summary["agreement"]
    if bench_id == "ad01":
        # every 5th window of each file, 4 vectors chosen over all files
        assert agreement["samples"] == SAMPLES
        assert 0 < agreement["relative_mean_abs_error"] < 0.05
    else:
        assert agreement["samples"] == SAMPLES
        assert agreement["top1_agreement"] >= 0.75
        assert 0 < agreement["max_probability_difference"] < 0.25
    text = quantize.format_summary(summary)
    assert f"benchmark    {bench_id}" in text and "float/int8" in text


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras 3.15 saving under numpy 2
def test_trained_keras_model_and_npy_calibration(cli, tmp_path, official_model):
    """The hand-off from training: a .keras model with a free batch dimension and a .npy of
    calibration inputs quantize to the official structure."""
    from tinybench import models
    rng = np.random.default_rng(5)
    model = models.build("ad01", batch_size=None)
    as_if_trained(model, rng)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "calibration.npy", rng.normal(-30, 10, (20, 640)).astype(np.float32))
    out = tmp_path / "model_int8.tflite"
    result = cli("quantize", "ad01", "--model", tmp_path / "model.keras", "--calibration",
                 tmp_path / "calibration.npy", "--out", out, "--samples", 8)
    assert result.exit_code == 0, result.output
    assert "(8 calibration vectors)" in result.stdout
    assert structure(read_graph(out)) == structure(read_graph(official_model("ad01")))


def test_float_tflite_fails_full_int8_validation(float_model_dir):
    data = (float_model_dir / "kws01_float32.tflite").read_bytes()
    with pytest.raises(UserError, match="input is float32, not int8"):
        quantize.validate(data)


def test_official_int8_model_passes_validation(official_model):
    graph = quantize.validate(official_model("ic01").read_bytes())
    assert graph.input.shape == (1, 32, 32, 3)


# ---------------------------------------------------------------------------------------------
# Calibration inputs (no TensorFlow needed)


def test_kws01_eval_file_is_dequantized_with_the_official_input_parameters():
    bench = benchmarks.get("kws01")
    data = np.full(bench.eval_file_bytes, bench.official_input_zero_point, dtype=np.int8)
    data[0], data[1] = bench.official_input_zero_point + 10, -128
    x = quantize.eval_file_to_float(bench, None, data)
    assert x.shape == (1,) + bench.input_shape[1:]
    flat = x.reshape(-1)
    assert flat[0] == pytest.approx(10 * bench.official_input_scale)
    assert flat[1] == pytest.approx((-128 - bench.official_input_zero_point) * bench.official_input_scale)
    assert np.all(flat[2:] == 0)


@pytest.mark.parametrize("bench_id,top", [("vww01", 1.0), ("ic01", 255.0)])
def test_pixel_eval_files_scale_like_the_reference(bench_id, top):
    bench = benchmarks.get(bench_id)
    data = np.zeros(bench.eval_file_bytes, dtype=np.uint8)
    data[:3] = [255, 0, 51]  # the first pixel's R, G, B (HWC layout)
    x = quantize.eval_file_to_float(bench, None, data)
    assert x.shape == (1,) + bench.input_shape[1:]
    assert x[0, 0, 0].tolist() == pytest.approx([top, 0.0, 51 * top / 255])


def test_ad01_eval_file_becomes_5_frame_vectors():
    bench = benchmarks.get("ad01")
    frames, mels = bench.preprocessing["file_frames"], bench.preprocessing["n_mels"]
    spectrogram = np.arange(frames * mels, dtype=np.float32).reshape(frames, mels)
    entry = evalset.EvalEntry("x.bin", 2, 0, bench.window_bytes, bench.window_stride_bytes)
    vectors = quantize.eval_file_to_float(bench, entry, spectrogram.reshape(-1))
    assert vectors.shape == (frames - 4, 640)  # one window per frame, 5 frames each
    np.testing.assert_array_equal(vectors[0], spectrogram[0:5].reshape(-1))
    np.testing.assert_array_equal(vectors[7], spectrogram[7:12].reshape(-1))


def test_ad01_calibration_takes_non_overlapping_vectors_from_every_file(tmp_path):
    bench = benchmarks.get("ad01")
    folder = _write_eval_set(tmp_path, bench, 3)
    every = quantize.calibration_inputs(bench, folder, limit=10_000)
    per_file = -(-(bench.preprocessing["file_frames"] - 4) // quantize.AD01_WINDOW_STEP)
    assert every.shape == (3 * per_file, 640)
    first = evalset.read_input(folder, evalset.read_labels(folder)[0], bench)
    np.testing.assert_array_equal(every[1], first[5 * 128:10 * 128])
    assert quantize.calibration_inputs(bench, folder, limit=7).shape == (7, 640)


def test_calibration_limit_spreads_over_the_eval_set(tmp_path):
    bench = benchmarks.get("ic01")
    folder = _write_eval_set(tmp_path, bench, 9)
    entries = evalset.read_labels(folder)
    x = quantize.calibration_inputs(bench, folder, limit=3)
    expected = [evalset.read_input(folder, entries[i], bench).astype(np.float32) for i in (0, 4, 8)]
    np.testing.assert_array_equal(x.reshape(3, -1), np.stack(expected))


def test_npy_and_npz_calibration(tmp_path):
    bench = benchmarks.get("vww01")
    rng = np.random.default_rng(0)
    batch = rng.uniform(0, 1, (5, 96, 96, 3)).astype(np.float32)
    np.save(tmp_path / "batch.npy", batch)
    np.testing.assert_array_equal(quantize.calibration_inputs(bench, tmp_path / "batch.npy", 5), batch)
    np.save(tmp_path / "one.npy", batch[0])
    assert quantize.calibration_inputs(bench, tmp_path / "one.npy", 5).shape == (1, 96, 96, 3)
    np.savez(tmp_path / "named.npz", x=batch, y=np.arange(5))
    assert quantize.calibration_inputs(bench, tmp_path / "named.npz", 2).shape == (2, 96, 96, 3)


@pytest.mark.parametrize("make,message", [
    (lambda p: np.save(p / "c.npy", np.zeros((2, 32, 32, 3), np.float32)), "takes \\(N, 96, 96, 3\\)"),
    (lambda p: np.save(p / "c.npy", np.zeros((2, 96, 96, 3), np.uint8)), "holds uint8 values"),
    (lambda p: np.save(p / "c.npy", np.full((1, 96, 96, 3), np.nan, np.float32)), "NaN"),
    (lambda p: (p / "c.npy").write_bytes(b"not numpy"), "not a readable numpy file"),
    (lambda p: np.savez(p / "c.npz", a=np.zeros(1), b=np.zeros(1)), "name the inputs 'x'"),
])
def test_bad_array_calibration_is_a_user_error(tmp_path, make, message):
    make(tmp_path)
    source = next(tmp_path.iterdir())
    with pytest.raises(UserError, match=message):
        quantize.calibration_inputs(benchmarks.get("vww01"), source, 5)


def test_prepared_dataset_calibration(tmp_path):
    """A prepared dataset gives the reference's calibration picks as float model inputs (ic01:
    raw pixels 0..255 of test images), thinned evenly to the limit."""
    from tinybench.data import prepare, synth
    synth.synthesize("ic01", tmp_path / "raw", per_class=2, seed=0)
    prepared = prepare.prepare("ic01", tmp_path / "raw", tmp_path / "prepared")
    bench = benchmarks.get("ic01")
    x = quantize.calibration_inputs(bench, tmp_path / "prepared", limit=5)
    assert x.shape == (5, 32, 32, 3) and x.dtype == np.float32
    test_images = prepared.x("test").reshape(len(prepared.x("test")), -1).astype(np.float32)
    for row in x.reshape(5, -1):  # every input is one of the test images, unscaled
        assert (test_images == row).all(axis=1).any()


def test_eval_set_of_another_benchmark_is_a_user_error(tmp_path):
    folder = _write_eval_set(tmp_path, benchmarks.get("ic01"), 2)
    with pytest.raises(UserError, match="10 classes but kws01 has 12"):
        quantize.calibration_inputs(benchmarks.get("kws01"), folder, 5)


# ---------------------------------------------------------------------------------------------
# Errors through the command line


def _quantize_error(cli, tmp_path, bench_id, model, calibration) -> str:
    out = tmp_path / "out" / "model.tflite"
    message = one_line_error(cli("quantize", bench_id, "--model", model, "--calibration",
                                  calibration, "--out", out, "--samples", 2))
    assert not out.exists() and not out.with_name(out.name + ".tmp").exists()
    return message


def test_quantize_unknown_benchmark(cli, tmp_path, eval_sets, float_model_dir):
    message = _quantize_error(cli, tmp_path, "kws02", float_model_dir / "ad01.h5", eval_sets["ad01"])
    assert "unknown benchmark 'kws02'" in message


def test_quantize_missing_model(cli, tmp_path, eval_sets):
    message = _quantize_error(cli, tmp_path, "ad01", tmp_path / "absent.h5", eval_sets["ad01"])
    assert "absent.h5: no such file" in message


def test_quantize_file_that_is_not_a_model(cli, tmp_path, eval_sets):
    path = tmp_path / "model.h5"
    path.write_text("not a model\n")
    assert "not a Keras model" in _quantize_error(cli, tmp_path, "ad01", path, eval_sets["ad01"])


def test_quantize_truncated_h5(cli, tmp_path, eval_sets, float_model_dir):
    data = (float_model_dir / "ad01.h5").read_bytes()
    path = tmp_path / "ad01.h5"
    path.write_bytes(data[:len(data) // 2])
    message = _quantize_error(cli, tmp_path, "ad01", path, eval_sets["ad01"])
    assert "truncated or corrupt" in message


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras 3.15 saving under numpy 2
def test_quantize_truncated_keras(cli, tmp_path, eval_sets):
    from tinybench import models
    path = tmp_path / "ad01.keras"
    models.build("ad01").save(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    message = _quantize_error(cli, tmp_path, "ad01", path, eval_sets["ad01"])
    assert "truncated or corrupt" in message


def test_quantize_a_tflite_model(cli, tmp_path, eval_sets, official_model):
    message = _quantize_error(cli, tmp_path, "ad01", official_model("ad01"), eval_sets["ad01"])
    assert "TFLite model already" in message


def test_quantize_model_of_another_benchmark(cli, tmp_path, eval_sets, float_model_dir):
    message = _quantize_error(cli, tmp_path, "kws01", float_model_dir / "ic01.h5", eval_sets["kws01"])
    assert "takes inputs shaped (32, 32, 3), but kws01 inputs are (49, 10, 1)" in message


def test_quantize_empty_calibration_folder(cli, tmp_path, float_model_dir):
    empty = tmp_path / "calibration"
    empty.mkdir()
    message = _quantize_error(cli, tmp_path, "ad01", float_model_dir / "ad01.h5", empty)
    assert "calibration folder is empty" in message


def test_quantize_error_has_no_traceback_in_the_real_command(tmp_path):
    script = Path(sys.executable).parent / "tinybench"
    if not script.exists():
        pytest.skip(f"console script not installed at {script}")
    run = subprocess.run([str(script), "quantize", "ic01", "--model", str(tmp_path / "absent.h5"),
                          "--calibration", str(tmp_path), "--out", str(tmp_path / "o.tflite")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), run.stderr


def test_logging_after_a_conversion_still_reaches_the_terminal(tmp_path):
    """A logging handler made during conversion (TensorFlow adds one to the root logger) must not
    be left holding a closed stream: `make demo` printed '--- Logging error ---' for every
    warning of the next training run."""
    script = (
        "import numpy as np, keras, tensorflow as tf\n"
        "from tinybench import quantize\n"
        "i = keras.Input((4,))\n"
        "model = keras.Model(i, keras.layers.Dense(2)(i))\n"
        "quantize.convert(model, np.random.rand(8, 4).astype('float32'), show_progress=False)\n"
        "tf.get_logger().warning('after the conversion')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Logging error" not in done.stderr
    assert "after the conversion" in done.stderr
