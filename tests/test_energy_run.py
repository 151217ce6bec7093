"""Energy mode end to end: the energy-mode host DUT (the real firmware) reports its timestamp pulses
and activity to a simulated LPM01A, which streams the real protocol on a pseudo-terminal to the
LPM01A client; the DUT is reached through the simulated interface board. Windows are short (asked
for by name), so the results say they are not valid for submission; and everything measured is
labelled simulated."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tinybench import benchmarks
from tinybench.data import evalset
from tinybench.dut.emulate import build_for_model
from tinybench.dut.host import HostDut
from tinybench.energy.interface_board_sim import InterfaceBoardSimulator
from tinybench.energy.power_model import REFERENCE_BOARD
from tinybench.errors import UserError
from tinybench.runner import RunOptions, run
from tinybench.runner.energy import open_session

CHECKER_ENERGY = re.compile(r"Median energy cost is ([\d\.]+) uJ/inf")
SHORT_WINDOW = 0.3


def kws_eval_set(folder, count=6):
    rng = np.random.default_rng(11)
    evalset.write(folder, [(f"k{i:02d}.bin", rng.integers(-128, 128, 490).astype(np.int8),
                            i % 12) for i in range(count)], benchmarks.get("kws01"))
    return folder


@pytest.fixture(scope="module")
def energy_program(official_model, tmp_path_factory):
    program, _ = build_for_model(official_model("kws01"), energy=True,
                                 build_dir=tmp_path_factory.getbasetemp() / "dut-kws01-energy")
    return program


def test_lpm01a_simulator_behind_an_interface_board(energy_program, tmp_path):
    dataset = kws_eval_set(tmp_path / "eval")
    options = RunOptions(port=None, mode="energy", dataset=dataset, out=tmp_path / "out",
                         system="host", short_window=SHORT_WINDOW, power="lpm01a-sim",
                         chunk_bytes=26)
    with open_session("lpm01a-sim", "host") as session, \
            HostDut(energy_program, session.dut_arguments) as dut, \
            InterfaceBoardSimulator(dut.port) as board:
        options.interface = board.port
        result = run(options, monitor=session)
    folder = tmp_path / "out" / "closed" / "tinybench" / "results" / "host" / "kws" / "energy"
    assert result.results_dir == folder
    text = (folder / "results.txt").read_text()
    steps = json.loads((folder / "results.json").read_text())
    log = (folder / "log.txt").read_text()

    # The whole path ran: setup, the DUT through the board, five windows with their traces.
    assert "lpm01a > volt 1800m" in log and "lpm01a > pwr on nostatus" in log
    assert "board > dut infer " in log and "board < [dut]: m-infer-done" in log
    assert [s["window"] for s in steps] == [1, 2, 3, 4, 5]
    active_w = REFERENCE_BOARD.active_mw * 1e-3
    per_inference = []
    for step in steps:
        power, energy = step["power"], step["energy"]
        assert power["simulated"] and "SIMULATED" in power["monitor"]
        assert len(power["timestamps"]) == 2
        (n0, i0), (n1, i1) = power["timestamps"]
        assert n1 == n0 + 1 and (i0, i1) == (energy["start_index"], energy["end_index"])
        # The integration between the events, from the streamed samples themselves.
        window = np.array(power["samples"][i0:i1])
        assert energy["energy"] == pytest.approx(window.sum(), rel=1e-9)
        assert energy["elapsed"] == pytest.approx((i1 - i0) / 1000)
        # The DUT computes through the whole window, so the model's active power is what the
        # monitor saw, but for the part-idle sample at each end.
        assert energy["energy"] / energy["elapsed"] == pytest.approx(
            active_w, abs=2 * active_w / (i1 - i0) + 1e-6)
        assert energy["elapsed"] >= SHORT_WINDOW
        per_inference.append(energy["energy"] / step["infer"]["iterations"] * 1e6)
        assert (folder / energy["plot"]).read_bytes()[:4] == b"\x89PNG"
    # The median over the five windows, and what marks the run as no submission.
    median_line = next(line for line in text.splitlines() if "Median energy cost" in line)
    assert median_line == (f"Median energy cost of these windows: {np.median(per_inference):.4f} "
                           f"uJ/inf. (SIMULATED)")
    assert not CHECKER_ENERGY.search(text)
    assert "ERROR: Not valid for submission.  The power monitor was simulated." in text
    assert "windows of 0.3 s were asked for" in text
    assert "SIMULATED" in log and result.summary["simulated"]
    assert result.summary["median_energy_uj"] == pytest.approx(np.median(per_inference))
    assert not result.summary["valid_for_submission"]


def test_cli_energy_run_with_the_simulated_monitor(cli, official_model, tmp_path_factory,
                                                   tmp_path):
    result = cli("run", "--emulate", "host", "--model", official_model("kws01"),
                 "--mode", "energy", "--power", "sim", "--short-window", SHORT_WINDOW,
                 "--dataset", kws_eval_set(tmp_path / "eval"), "--out", tmp_path / "out",
                 "--build-dir", tmp_path_factory.getbasetemp() / "dut-kws01-energy")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "closed" / "tinybench" / "results" / "host" / "kws" / "energy"
    assert "NOTE: SIMULATED power monitor" in result.stdout
    assert "(SIMULATED)" in result.stdout and f"results: {folder}" in result.stdout
    assert sorted(p.name for p in folder.glob("*.png")) == [f"energy_inf_00{i}.png"
                                                            for i in range(5)]
    trials = re.findall(r"Energy/Inf    : ([\d.]+) uJ/inf", result.stdout)
    assert len(trials) == 5


def test_energy_mode_refuses_performance_firmware(host_dut_program, tmp_path):
    program = host_dut_program("kws01")
    options = RunOptions(port=None, mode="energy", dataset=kws_eval_set(tmp_path / "eval"),
                         out=tmp_path / "out", short_window=SHORT_WINDOW)
    with open_session("sim") as session, HostDut(program) as dut:
        options.port = dut.port
        with pytest.raises(UserError, match="performance-mode firmware"):
            run(options, monitor=session)


def test_cli_refuses_monitors_that_cannot_measure_the_dut(cli, tmp_path):
    result = cli("run", "--port", "/dev/null", "--mode", "energy", "--power", "sim",
                 "--dataset", tmp_path, "--out", tmp_path)
    assert result.exit_code == 1 and "a simulated power monitor needs" in result.output
    result = cli("run", "--port", "/dev/null", "--mode", "performance", "--power", "sim",
                 "--dataset", tmp_path, "--out", tmp_path)
    assert result.exit_code == 1 and "are for --mode energy" in result.output


def test_a_window_that_lost_data_is_measured_again_and_a_run_resumes(energy_program, tmp_path):
    """Traces that lost data are never measured: the window is run again; after three failures
    the run stops with the completed windows kept, and --resume finishes it."""
    from tinybench.energy.monitor import DataLost

    dataset = kws_eval_set(tmp_path / "eval")
    # A fixed inference count: no window is run again for being short, so the traces taken are
    # exactly one per measurement.
    options = RunOptions(port=None, mode="energy", dataset=dataset, out=tmp_path / "out",
                         system="host", short_window=SHORT_WINDOW, power="sim", iterations=200)
    folder = tmp_path / "out" / "closed" / "tinybench" / "results" / "host" / "kws" / "energy"
    with open_session("sim") as session, HostDut(energy_program, session.dut_arguments) as dut:
        options.port = dut.port
        real_stop, calls = session.monitor.stop, []

        def flaky_stop():      # the 2nd trace, and the 4th to 6th (all of window 3), lose data
            calls.append(1)
            trace = real_stop()
            if len(calls) in (2, 4, 5, 6):
                raise DataLost("test: sample lines lost")
            return trace
        session.monitor.stop = flaky_stop
        with pytest.raises(UserError, match="energy window 3 could not be measured 3 times"):
            run(options, monitor=session)
        kept = [json.loads(line)["step"] for line in
                (folder / "journal.jsonl").read_text().splitlines()[1:]]
        assert [s["window"] for s in kept] == [1, 2]
        assert not (folder / "results.txt").exists()
        assert "energy window 2: test: sample lines lost; measuring it again" in \
            (folder / "log.txt").read_text()

        session.monitor.stop = real_stop
        options.resume = True
        result = run(options, monitor=session)
    steps = json.loads((folder / "results.json").read_text())
    assert [s["window"] for s in steps] == [1, 2, 3, 4, 5]
    assert [s["energy"] for s in steps[:2]] == [s["energy"] for s in kept]
    assert result.summary["windows"] == 5
