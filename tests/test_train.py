"""Synthetic data in the real formats -> real loaders and features -> a short training run whose
metric rises clearly above chance -> full-int8 quantization with the official op sequence.
Plus resuming from a checkpoint, and config errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tinybench import benchmarks, train
from tinybench.errors import UserError
from tinybench.tflite import read_graph

# Small synthetic sets (per class; ad01: clips per machine) and what "clearly above chance" means
# for each metric: chance is 1/12 and 1/10 top-1 for kws01 and ic01, 1/2 for vww01, AUC 0.5 for ad01.
SIZES = {"kws01": dict(per_class=30), "vww01": dict(per_class=100), "ic01": dict(per_class=30),
         "ad01": dict(per_class=8)}
ABOVE_CHANCE = {"kws01": 35.0, "vww01": 70.0, "ic01": 35.0, "ad01": 0.75}


def _ops(model):
    return [op.opcode for op in read_graph(model).operators]


@pytest.mark.slow
@pytest.mark.parametrize("bench_id", ["kws01", "vww01", "ic01", "ad01"])
def test_synthetic_training_learns_and_quantizes_like_the_official_model(
        bench_id, tmp_path, official_model, record_property):
    quantize = pytest.importorskip("tinybench.quantize")
    out = tmp_path / "run"
    summary = train.train(bench_id, out, synthetic=True, quick=True, show_progress=False,
                          log=lambda text: None, **SIZES[bench_id])
    history = json.loads((out / "history.json").read_text())
    quality = [h["quality"] for h in history["history"]]
    record_property("quality_per_epoch", quality)
    print(f"{bench_id}: quality per epoch {[round(q, 3) for q in quality]}, summary {summary}")
    assert summary["finished"] and summary["epochs_done"] == len(quality)
    assert max(quality) > ABOVE_CHANCE[bench_id]
    assert quality[-1] > ABOVE_CHANCE[bench_id]
    held_out = summary.get("test_quality", quality[-1])  # kws01 also reports its test split
    assert held_out > ABOVE_CHANCE[bench_id]

    tflite = tmp_path / "model_int8.tflite"
    result = quantize.quantize(bench_id, out / "model.keras", out / "calibration.npy", tflite,
                               show_progress=False)
    assert _ops(tflite) == _ops(official_model(bench_id))
    graph = read_graph(tflite)
    assert graph.input.dtype == np.int8 and graph.output.dtype == np.int8
    if bench_id != "ad01":
        assert result["agreement"]["top1_agreement"] > 0.8


def test_resume_continues_from_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    first = train.train("kws01", out, synthetic=True, quick=True, per_class=6, epochs=3,
                        max_steps=20, show_progress=False, log=lambda text: None)
    prepared = train.prep.open_prepared(out / "prepared")
    steps_per_epoch = train.TrainingData("kws01", prepared, 8, 0).steps_per_epoch
    assert steps_per_epoch > 10  # so that 20 steps stop inside the second epoch
    assert first["epochs_done"] == 2 and not first["finished"]
    assert (out / "checkpoint.keras").is_file() and not (out / "model.keras").exists()
    messages = []
    second = train.train("kws01", out, synthetic=True, quick=True, per_class=6, epochs=3,
                         show_progress=False, log=messages.append)
    assert any("resuming" in m and "epoch 2" in m for m in messages)
    history = json.loads((out / "history.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert second["finished"] and (out / "model.keras").is_file() and (out / "calibration.npy").is_file()
    assert history[2]["elapsed_seconds"] > history[1]["elapsed_seconds"]
    with pytest.raises(UserError, match="another batch_size"):
        train.train("kws01", out, synthetic=True, quick=True, per_class=6, epochs=5, batch_size=4,
                    show_progress=False, log=lambda text: None)
    (out / "checkpoint.keras").write_bytes(b"PK\x03\x04 damaged")
    with pytest.raises(UserError, match="checkpoint.keras: cannot be loaded"):
        train.train("kws01", out, synthetic=True, quick=True, per_class=6, epochs=5,
                    show_progress=False, log=lambda text: None)


@pytest.mark.parametrize("bench_id", ["kws01", "vww01", "ic01", "ad01"])
def test_reference_configs(bench_id):
    config = train.load_config(bench_id)
    bench = benchmarks.get(bench_id)
    assert config.target_value == bench.quality_target
    assert config.batchnorm_momentum is None  # the references keep Keras's default
    quick = train.load_config(bench_id, quick=True)
    assert quick.epochs < config.epochs and quick.batchnorm_momentum == 0.9
    expected = {"kws01": (100, 36, [5e-4, 5e-4, 1e-4, 2e-5, 1e-5]),
                "vww01": (32, 50, [1e-3, 1e-3, 5e-4, 2.5e-4, 2.5e-4]),
                "ic01": (32, 500, [1e-3, 1e-3 * 0.99 ** 11, 1e-3 * 0.99 ** 23, 1e-3 * 0.99 ** 35,
                                   1e-3 * 0.99 ** 60]),
                "ad01": (512, 100, [1e-3] * 5)}[bench_id]
    assert (config.batch_size, config.epochs) == expected[:2]
    rates = [config.learning_rate_at(e) for e in (0, 11, 23, 35, 60)]
    if bench_id == "vww01":
        rates = [config.learning_rate_at(e) for e in (0, 19, 20, 30, 49)]
    np.testing.assert_allclose(rates, expected[2])


def test_bad_configs_and_options(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("benchmark: kws01\nbatch_size: 8\nepochs: 2\nloss: mse\n"
                   "learning_rate: {schedule: cosine}\n")
    with pytest.raises(UserError, match="cosine"):
        train.load_config("kws01", bad)
    bad.write_text("benchmark: kws01\nbatch_size: 8\nepochs: 2\nloss: mse\nlr: 3\n")
    with pytest.raises(UserError, match="lr"):
        train.load_config("kws01", bad)
    with pytest.raises(UserError, match="a config for ic01"):
        train.load_config("kws01", train.default_config_path("ic01"))
    with pytest.raises(UserError, match="no such folder"):
        train.train("kws01", tmp_path / "run", data=tmp_path / "nothing", show_progress=False,
                    log=lambda text: None)
    with pytest.raises(UserError, match="either --data or --synthetic"):
        train.resolve_data("kws01", tmp_path / "run", tmp_path, synthetic=True)
    with pytest.raises(UserError, match="--epochs must be at least 1"):
        train.train("kws01", tmp_path / "run", synthetic=True, epochs=0)


def test_cli_train_stops_at_the_target_and_reports_time_to_target(cli, tmp_path):
    config = tmp_path / "ad01.yaml"
    config.write_text(train.default_config_path("ad01").read_text().replace(
        "target: official", "target: 0.0"))
    args = ("train", "ad01", "--synthetic", "--quick", "--per-class", 3, "--config", config,
            "--out", tmp_path / "run")
    result = cli(*args)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run" / "history.json").read_text())["summary"]
    assert summary["reached"] and summary["epochs_done"] == 1  # stopped at the target
    assert 0 < summary["time_to_target_seconds"] <= summary["train_seconds"]
    assert f"time to target: {summary['time_to_target_seconds']:.1f} s" in result.output
    assert "tinybench quantize ad01" in result.output
    again = cli(*args)
    assert again.exit_code == 0 and "already finished" in again.output
