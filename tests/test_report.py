"""`tinybench report`: tables and the HTML report with its plots, on results trees written by the
runner's writer (see test_check.py), energy results, a per-layer profile and host scenarios."""
from __future__ import annotations

import base64
import re

import matplotlib.image
import pytest

from test_check import (LATENCY_MS, build_submission, expected_median_throughput,
                        performance_steps, write_run)
from tinybench import benchmarks
from tinybench import hostbench as hb
from tinybench.errors import UserError
from tinybench.report import layers, make_report, published, results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KWS_OPS = ["CONV_2D"] + ["DEPTHWISE_CONV_2D", "CONV_2D"] * 4 + [
    "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]


def add_energy(model_dir, uj):
    energy = model_dir / "energy"
    energy.mkdir()
    (energy / "log.txt").write_text("energy trials\n")
    (energy / "results.txt").write_text(
        f"0101.120000 ulp-mlperf: Median energy cost is {uj:.4f} uJ/inf.\n")


def dut_layer_reply(times_us):
    return [f"m-layer-{i}-{op}-us-{t}" for i, (op, t) in enumerate(zip(KWS_OPS, times_us))] + [
        "m-ready"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory, official_model):
    root = tmp_path_factory.mktemp("report")
    sub = build_submission(root / "sub", system="board-a")
    build_submission(root / "sub", system="board-b", quality=0.84)
    add_energy(sub / "closed/acme/results/board-a/kws", 1234.5)
    add_energy(sub / "closed/acme/results/board-a/ad", 98.25)
    times = [400, 120, 380, 110, 370, 100, 360, 95, 350, 20, 3, 15, 8]
    reply = dut_layer_reply(times)
    layers.write_layers(sub / "closed/acme/results/board-a/kws/layers",
                        layers.parse_layer_lines(reply), reply)
    hb.run(official_model("kws01"), "single-stream", "performance", "litert",
           hb.Settings(duration_s=0.2), random_inputs=True, out=root / "host")
    return root, times


def test_report_renders_with_valid_plots(tree, tmp_path):
    root, _ = tree
    report = make_report([root / "sub", root / "host"], tmp_path / "out")
    page = report.html_path.read_text()
    names = {p.name for p in report.plots}
    assert {"latency.png", "accuracy.png", "energy.png", "hostbench.png",
            "layers-board-a-kws.png"} <= names
    for path in report.plots:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        image = matplotlib.image.imread(path)
        assert image.shape[0] > 100 and image.shape[1] > 300
    # Self-contained: every plot is embedded as a data URI, and no file is referenced.
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(embedded) == len(report.plots)
    assert {base64.b64decode(e) for e in embedded} == {p.read_bytes() for p in report.plots}
    assert not re.search(r'src="(?!data:)', page)


def test_tables_show_latency_accuracy_energy_and_published_figures(tree):
    root, _ = tree
    text = make_report([root / "sub"], None).text
    latency_table = text[:text.index("Accuracy against")]
    latency_rows = {line.split()[0]: line for line in latency_table.splitlines()
                    if line.split() and line.split()[0] in LATENCY_MS}
    for bench_id in LATENCY_MS:
        latency = 1000 / expected_median_throughput(bench_id)
        assert f"{latency:.4g}" in latency_rows[bench_id]
        for stack in published.PUBLISHED:
            assert f"{stack.latency_ms[bench_id]:.4g}" in latency_rows[bench_id]
    assert "board-a" in text and "board-b" in text
    # board-b has 84% quality: 40 of 48 files = 83.3, below kws01's 90 and ic01's 85 but not
    # vww01's 80.
    accuracy = text[text.index("Accuracy against"):]
    assert re.search(r"kws01 .*95\.8 meets .*83\.3 BELOW", accuracy)
    assert re.search(r"vww01 .*83\.3 meets", accuracy)
    energy = text[text.index("Energy per inference"):]
    assert "1234" in energy and "98.25" in energy
    assert "7374" in energy   # the published v0.5 reference energy of kws01
    assert "13" in text and "CONV_2D" in text   # the per-layer summary


def test_layer_profile_is_read_back(tree):
    root, times = tree
    systems = results.load([root / "sub"])
    kws = next(s for s in systems if s.name == "board-a").models["kws01"]
    assert [x.us for x in kws.layers] == times
    assert [x.opcode for x in kws.layers] == KWS_OPS
    assert kws.energy_uj == 1234.5


def test_layer_replies_with_lost_lines_are_rejected():
    reply = dut_layer_reply([5, 6, 7])
    assert [x.index for x in layers.parse_layer_lines(reply)] == [0, 1, 2]
    with pytest.raises(ValueError, match="lost"):
        layers.parse_layer_lines([reply[0], reply[2]])


def test_runs_outside_the_rules_are_marked(tmp_path):
    sub = tmp_path / "sub"
    write_run(sub, "ad01", "performance", performance_steps("ad01", window_seconds=0.5),
              short_window=0.5)
    text = make_report([sub], None).text
    ad_row = next(line for line in text.splitlines() if line.startswith("ad01"))
    latency = 1000 / expected_median_throughput("ad01")
    assert f"{latency:.4g} *" in ad_row
    assert "Run-rule errors" in text and "not valid for submission" in text


def write_energy_run(model_dir, uj_per_inference, simulated):
    """An energy/ folder through tinybench's energy writer: 5 windows of 11 s."""
    from tinybench.energy.results import WindowEnergy, summary_lines
    windows = [WindowEnergy(iterations=1000, elapsed=11.0,
                            energy=uj_per_inference * 1e-6 * 1000 * (1 + 0.01 * i),
                            start_index=0, end_index=11000) for i in range(5)]
    energy = model_dir / "energy"
    energy.mkdir(parents=True)
    (energy / "log.txt").write_text("trials\n")
    lines = summary_lines(windows, 5, benchmarks.MIN_WINDOW_SECONDS, simulated, "simulated"
                          if simulated else "LPM01A")
    (energy / "results.txt").write_text("".join(line + "\n" for line in lines))


def test_energy_from_a_simulated_monitor_is_shown_but_marked(tmp_path):
    sub = build_submission(tmp_path / "sub")
    write_energy_run(sub / "closed/acme/results/host/kws", 500.0, simulated=True)
    write_energy_run(sub / "closed/acme/results/host/ic", 2000.0, simulated=False)
    text = make_report([sub], None).text
    energy = text[text.index("Energy per inference"):]
    kws_row = next(line for line in energy.splitlines() if line.startswith("kws01"))
    ic_row = next(line for line in energy.splitlines() if line.startswith("ic01"))
    assert "510 *" in kws_row          # the median window: 1.02 x 500 uJ, marked
    assert "2040 " in ic_row and "2040 *" not in ic_row
    assert "simulated" in text
    from tinybench.report import check
    errors = [str(f) for f in check.check(sub).errors]
    assert any("kws/energy" in m and "power monitor was simulated" in m for m in errors)
    assert not any("ic/energy" in m for m in errors)


def test_host_scenarios_are_reported(tree, cli, tmp_path):
    root, _ = tree
    result = cli("report", root / "host", "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    # the row states LoadGen's verdict and its 90th-percentile latency from mlperf_log_summary.txt
    summary = (root / "host/host-litert/kws/hostbench-single-stream-performance/"
               "mlperf_log_summary.txt").read_text()
    p90_ns = re.search(r"^90.0th percentile latency \(ns\) : (\d+)", summary, re.M).group(1)
    row = re.search(r"host-litert\s+kws\s+single-stream\s+performance\s+litert\s+(.*)",
                    result.output).group(1)
    assert row == f"VALID, {int(p90_ns) / 1e6:,.3f} ms 90.0th latency"
    assert (tmp_path / "r/report.html").is_file() and (tmp_path / "r/plots/hostbench.png").is_file()


def test_no_results_is_a_user_error(tmp_path, cli):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no results found"):
        make_report([tmp_path / "empty"], None)
    result = cli("report", tmp_path / "missing", "--no-html")
    assert result.exit_code != 0


def test_model_folders_map_to_benchmarks():
    for b in benchmarks.BENCHMARKS.values():
        assert results.benchmark_of(b.submission_name) is b
        assert results.benchmark_of(b.id) is b
    assert results.benchmark_of("my_model") is None
