"""The LPM01A client against the simulated PowerShield on a pseudo-terminal: the setup sequence,
the streamed samples, events and TimeStamp lines, and the faults a real board shows (stale output
from an earlier run, dropped or damaged lines, commands never acknowledged)."""
from __future__ import annotations

import time

import pytest

from tinybench.energy.lpm01a import Lpm01a
from tinybench.energy.lpm01a_sim import Faults, Lpm01aSimulator
from tinybench.energy.monitor import DataLost, MonitorError
from tinybench.energy.power_model import BoardPowerProfile, PowerModel
from tinybench.energy.results import measure_window
from tinybench.errors import UserError

PROFILE = BoardPowerProfile("test", active_mw=40.0, idle_mw=8.0, source="test")
SETUP_COMMANDS = ["htc", "powershield", "version", 'lcd 1 "MLPerf Tiny"', 'lcd 2 "     monitor    "',
                  "pwr off", "acqtime inf", "trigdelay 0", "trigsrc sw", "eventsrc d7 fal",
                  "output energy", "format ascii_dec", "freq 1k", "volt 1800m", "pwr on nostatus"]


@pytest.fixture
def bench():
    """bench(faults) -> (model, simulator, client); everything is closed afterwards."""
    opened = []

    def make(faults=None, **client_options):
        model = PowerModel(PROFILE)
        sim = Lpm01aSimulator(model, faults=faults).start()
        opened.append(sim)
        client = Lpm01a(sim.port, ack_timeout=0.4, power_on_settle=0, **client_options)
        opened.append(client)
        return model, sim, client
    yield make
    for thing in reversed(opened):
        thing.close()


def run_window(model, client, busy_seconds=0.4, pulses=2):
    """One window: the DUT goes busy and pulses, stays busy, pulses and goes idle."""
    client.start()
    time.sleep(0.05)
    times = []
    t0 = time.monotonic_ns()
    model.busy(t0)
    for i in range(pulses):
        if i:
            time.sleep(busy_seconds / (pulses - 1))
        times.append(time.monotonic_ns())
        model.pulse(times[-1])
    model.idle(time.monotonic_ns())
    time.sleep(0.05)
    return client.stop(), times


def test_setup_stream_and_window_energy(bench):
    model, sim, client = bench()
    client.setup(1.8)
    assert sim.commands_seen == SETUP_COMMANDS
    assert client.simulated and "SIMULATED" in client.board_id
    trace, (t_start, t_end) = run_window(model, client)
    assert trace.simulated and "SIMULATED" in trace.monitor
    assert [e.number for e in trace.events] == [0, 1]
    window = measure_window(trace, iterations=10, expected_events=2)
    # The window is whole 1 ms samples around the two edges: within one sample at each end.
    assert window.elapsed == pytest.approx((t_end - t_start) * 1e-9, abs=2e-3)
    active = PROFILE.active_mw * 1e-3
    assert window.energy == pytest.approx(active * (t_end - t_start) * 1e-9, abs=2 * active / 1000)
    # A second window continues the same acquisition; its event counters follow on.
    trace2, _ = run_window(model, client, busy_seconds=0.2)
    assert [e.number for e in trace2.events] == [2, 3]
    client.teardown()
    assert sim.commands_seen[-3:] == ["stop", "pwr off", "hrc"] and not sim.acquiring


def test_stale_output_from_an_earlier_run_is_not_taken_for_data(bench):
    stale = ["PowerShield > ack start", "PowerShield > ack volt 3300m", "0042-05", "event 9 ris",
             "TimeStamp: 003s 000ms, buff 00%"]
    model, sim, client = bench(Faults(still_streaming=True, stale_lines=stale))
    client.setup(1.8)
    assert sim.commands_seen[:2] == ["htc", "stop"]    # the leftover acquisition was stopped first
    trace, (t_start, t_end) = run_window(model, client)
    assert [e.number for e in trace.events] == [0, 1]
    window = measure_window(trace, iterations=10, expected_events=2)
    active = PROFILE.active_mw * 1e-3
    assert window.energy == pytest.approx(active * (t_end - t_start) * 1e-9, abs=2 * active / 1000)


def test_a_dropped_sample_line_refuses_the_window(bench):
    model, sim, client = bench(Faults(drop_samples={1300}))
    client.setup(1.8)
    with pytest.raises(DataLost, match="samples .* were due"):
        run_window(model, client)


def test_a_garbled_sample_line_refuses_the_window(bench):
    model, sim, client = bench(Faults(garble_samples={1250}))
    client.setup(1.8)
    with pytest.raises(DataLost, match="lost or garbled"):
        run_window(model, client)


def test_a_dropped_event_line_refuses_the_window(bench):
    model, sim, client = bench(Faults(drop_events={1}))
    client.setup(1.8)
    with pytest.raises(DataLost, match="event counters jump"):
        run_window(model, client, pulses=3)


def test_a_missed_acknowledgement_is_retried(bench):
    model, sim, client = bench(Faults(ignore={"htc": 1, "volt": 2}))
    client.setup(1.8)
    assert sim.commands_seen.count("htc") == 2
    assert sim.commands_seen.count("volt 1800m") == 3


def test_a_command_never_acknowledged_is_refused_clearly(bench):
    model, sim, client = bench(Faults(ignore={"eventsrc": 99}), retries=2)
    with pytest.raises(MonitorError, match="did not acknowledge 'eventsrc d7 fal' after 2 tries"):
        client.setup(1.8)
    assert sim.commands_seen.count("eventsrc d7 fal") == 2


def test_an_error_reply_is_reported_with_its_detail(bench):
    model, sim, client = bench()
    client.command("htc")
    with pytest.raises(MonitorError, match="refused 'freq 3k': invalid argument"):
        client.command("freq 3k")
    with pytest.raises(UserError, match="1.8 V to 3.3 V"):
        client.setup(5.0)
