"""The DUT-signal FIFO and the simulated monitor, fed by a writer that speaks the host board's
report format (`ts|busy|idle <CLOCK_MONOTONIC ns>`), and the --power parser."""
from __future__ import annotations

import os
import time

import pytest

from tinybench.energy.dut_signals import DutSignals
from tinybench.energy.monitors import open_monitor, parse_power
from tinybench.energy.power_model import BoardPowerProfile, PowerModel
from tinybench.energy.results import measure_window
from tinybench.energy.simulated import SimulatedMonitor
from tinybench.errors import UserError

PROFILE = BoardPowerProfile("test", active_mw=25.0, idle_mw=5.0, source="test")


def test_reports_reach_the_model_and_sync_waits_for_them():
    model = PowerModel(PROFILE)
    logged = []
    with DutSignals(model.record, log=logged.append) as signals:
        writer = os.open(signals.path, os.O_WRONLY | os.O_NONBLOCK)   # as the host DUT opens it
        t = time.monotonic_ns()
        os.write(writer, f"busy {t}\nts {t + 10}\nbogus line\nts {t + 5_000_000}\n".encode())
        os.write(writer, f"idle {t + 5_000_001}\n".encode())
        signals.sync()
        assert signals.reports == 4 and signals.bad_lines == 1
        assert model.pulses_between(t, t + 10**9) == [t + 10, t + 5_000_000]
        assert "unreadable report" in logged[0]
        # From t: 5 ms busy at 25 mW, then 95 ms idle at 5 mW.
        energy = model.cumulative_energy(t + 10**8) - model.cumulative_energy(t)
        assert energy == pytest.approx(0.005 * 0.025 + 0.095 * 0.005, rel=1e-6)
        os.close(writer)


def test_closing_removes_the_fifo():
    signals = DutSignals(lambda kind, t: None)
    path = signals.path
    signals.close()
    assert not path.exists()


def test_simulated_monitor_measures_the_reported_window():
    model = PowerModel(PROFILE)
    with DutSignals(model.record) as signals:
        monitor = SimulatedMonitor(model, sync=signals.sync)
        monitor.setup(1.8)
        writer = os.open(signals.path, os.O_WRONLY | os.O_NONBLOCK)
        monitor.start()
        time.sleep(0.02)
        t0 = time.monotonic_ns()
        os.write(writer, f"busy {t0}\nts {t0}\n".encode())
        time.sleep(0.3)
        t1 = time.monotonic_ns()
        os.write(writer, f"ts {t1}\nidle {t1}\n".encode())
        time.sleep(0.02)
        trace = monitor.stop()
        os.close(writer)
    assert trace.simulated and "simulated" in trace.monitor
    window = measure_window(trace, iterations=4, expected_events=2)
    assert window.elapsed == pytest.approx((t1 - t0) * 1e-9, abs=1e-3)
    active = PROFILE.active_mw * 1e-3
    assert window.energy == pytest.approx(active * (t1 - t0) * 1e-9, abs=2 * active / 1000)


def test_power_option_parsing():
    assert parse_power("lpm01a:/dev/ttyACM3").port == "/dev/ttyACM3"
    assert parse_power("LPM01A").port is None
    assert parse_power("sim").simulated and parse_power("lpm01a-sim").simulated
    assert not parse_power("joulescope").simulated
    with pytest.raises(UserError, match="unknown power monitor 'keithley'"):
        parse_power("keithley")
    with pytest.raises(UserError, match="takes no port"):
        parse_power("sim:/dev/ttyS0")


def test_open_monitor_sim_gives_the_dut_its_signal_arguments():
    with open_monitor("sim") as session:
        assert session.dut_arguments[0] == "--signals"
        assert os.path.exists(session.dut_arguments[1])
    assert not os.path.exists(session.dut_arguments[1])
