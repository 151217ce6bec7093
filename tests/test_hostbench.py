"""`tinybench hostbench`: the MLPerf Inference scenarios on the host CPU, on the official models."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tinybench import hostbench as hb
from tinybench.errors import UserError

QUICK = dict(duration_s=0.5, min_queries=20)


def run(official_model, tmp_path, bench_id, scenario, backend="litert", **settings):
    return hb.run(official_model(bench_id), scenario, backend,
                  hb.Settings(**dict(QUICK, **settings)), out=tmp_path)


def test_server_at_a_low_rate_meets_its_bound(official_model, tmp_path):
    folder, record = run(official_model, tmp_path, "ad01", "server", target_qps=100,
                         latency_bound_ms=200, duration_s=1.0, min_queries=100)
    m = record["metrics"]
    assert record["valid"] is True
    assert m["completed"] == m["queries"] >= 100
    assert m["within_bound"] >= hb.WITHIN_SHARE
    assert m["latency_ms"]["p99"] <= 200
    # Poisson arrivals at 100 QPS for a second: the achieved rate is near the target.
    assert 50 < m["achieved_qps"] < 200
    assert "Result: VALID" in (folder / "results.txt").read_text()


def test_server_at_an_impossible_rate_reports_the_bound_missed(official_model, tmp_path):
    single = run(official_model, tmp_path, "ic01", "single-stream", duration_s=0.3)[1]
    per_query_ms = single["metrics"]["latency_ms"]["p50"]
    # Ten times what one engine can answer, with a bound of a few queries' time.
    folder, record = run(official_model, tmp_path, "ic01", "server",
                         target_qps=10_000 / per_query_ms, latency_bound_ms=4 * per_query_ms,
                         duration_s=0.3)
    m = record["metrics"]
    assert record["valid"] is False
    assert m["within_bound"] < 0.5
    assert m["completed"] < m["queries"]
    assert m["latency_ms"]["p99"] > m["latency_bound_ms"]
    assert "bound MISSED" in hb.summarize(record)
    assert "Result: INVALID" in (folder / "results.txt").read_text()


def test_single_stream_percentiles(official_model, tmp_path):
    folder, record = run(official_model, tmp_path, "kws01", "single-stream")
    m = record["metrics"]
    lat = m["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert m["queries"] >= 20 and m["duration_s"] >= 0.5
    assert m["throughput"] == pytest.approx(m["queries"] / m["duration_s"])
    # The model is recognised as kws01: its folder is the submission name.
    assert folder == tmp_path / "host-litert" / "kws" / "hostbench-single-stream"
    saved = json.loads((folder / "results.json").read_text())
    assert saved["benchmark"] == "kws01" and saved["metrics"] == m
    assert (folder / "log.txt").read_text().strip()


def test_multi_stream_finds_samples_per_query(official_model, tmp_path):
    folder, record = run(official_model, tmp_path, "kws01", "multi-stream", interval_ms=20,
                         min_queries=10, duration_s=0.3)
    m = record["metrics"]
    assert record["valid"] is True and m["within_interval"] >= hb.WITHIN_SHARE
    single = run(official_model, tmp_path, "kws01", "single-stream", duration_s=0.3)[1]
    # N samples of ~p50 each must fit the interval; and the search found more than one.
    assert 1 < m["samples_per_query"] <= 20 / single["metrics"]["latency_ms"]["p50"] * 1.5
    fixed = run(official_model, tmp_path, "kws01", "multi-stream", interval_ms=20,
                samples_per_query=2, min_queries=10, duration_s=0.2)[1]
    assert fixed["metrics"]["samples_per_query"] == 2 and len(fixed["metrics"]["attempts"]) == 1


def test_offline_throughput(official_model, tmp_path):
    _, record = run(official_model, tmp_path, "ad01", "offline", min_queries=500)
    m = record["metrics"]
    assert m["samples"] >= 500
    assert m["throughput"] == pytest.approx(m["samples"] / m["duration_s"])


def test_tflm_backend(official_model, tmp_path):
    folder, record = run(official_model, tmp_path, "ad01", "single-stream", backend="tflm",
                         duration_s=0.2, min_queries=5)
    assert record["backend"] == "tflm" and record["metrics"]["latency_ms"]["p50"] > 0
    assert folder.parts[-3:] == ("host-tflm", "ad", "hostbench-single-stream")


def test_random_inputs_cover_the_dtype():
    xs = hb.random_inputs((1, 49, 10, 1), np.int8, 4, seed=1)
    assert len(xs) == 4 and all(x.shape == (1, 49, 10, 1) and x.dtype == np.int8 for x in xs)
    joined = np.concatenate([x.ravel() for x in xs])
    assert joined.min() < -100 and joined.max() > 100
    assert not np.array_equal(xs[0], xs[1])


def test_bad_input_is_a_user_error(official_model, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        hb.run(tmp_path / "missing.tflite", "offline")
    with pytest.raises(UserError, match="unknown scenario"):
        hb.run(official_model("ad01"), "batch")
    not_a_model = tmp_path / "notes.tflite"
    not_a_model.write_text("hello")
    with pytest.raises(UserError, match="could not load"):
        hb.run(not_a_model, "offline", out=tmp_path)
    with pytest.raises(UserError, match="could not load"):
        hb.run(not_a_model, "offline", "tflm", out=tmp_path)
    assert not (tmp_path / "host-litert").exists()


def test_cli_hostbench(official_model, tmp_path, cli):
    result = cli("hostbench", official_model("ad01"), "--scenario", "server", "--target-qps", "50",
                 "--latency-bound-ms", "200", "--duration", "0.3", "--min-queries", "10",
                 "--out", tmp_path, "--system", "laptop")
    assert result.exit_code == 0, result.output
    assert "Summary: 50 QPS target" in result.output
    assert (tmp_path / "laptop/ad/hostbench-server/results.txt").is_file()
