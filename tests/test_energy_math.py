"""Energy per inference from traces: checked against power traces whose energy is known in closed
form, and the results.txt lines against the official checker's regular expression."""
from __future__ import annotations

import re

import numpy as np
import pytest

from tinybench.energy.lpm01a import format_sample, parse_sample
from tinybench.energy.monitor import DataLost, Event, Trace
from tinybench.energy.power_model import BoardPowerProfile, PowerModel
from tinybench.energy.results import (measure_window, median_energy_uj, plot_window,
                                      summary_lines, trace_record)

RATE = 1000
# The submission checker's pattern for the energy result (SPEC section 5).
CHECKER_ENERGY = re.compile(r"Median energy cost is ([\d\.]+) uJ/inf")


def sine_power_trace(p0, amplitude, freq, seconds, events):
    """Energy samples of P(t) = p0 + amplitude * sin(2 pi freq t), each the exact integral over
    its 1 ms period, and the antiderivative to compare with."""
    def antiderivative(t):
        return p0 * t - amplitude / (2 * np.pi * freq) * np.cos(2 * np.pi * freq * t)
    edges = np.arange(int(seconds * RATE) + 1) / RATE
    samples = np.diff(antiderivative(edges))
    trace = Trace(samples=samples, sample_rate=RATE, voltage=1.8, monitor="synthetic",
                  events=[Event(n, i) for n, i in enumerate(events)])
    return trace, antiderivative


def test_window_energy_matches_the_integral_of_a_known_power_trace():
    # 20 mW with a 5 mW, 3.7 Hz ripple; the window runs from 1.234 s to 11.987 s.
    trace, energy_to = sine_power_trace(0.020, 0.005, 3.7, 13.0, events=[1234, 11987])
    window = measure_window(trace, iterations=70)
    analytic = energy_to(11.987) - energy_to(1.234)
    assert window.elapsed == pytest.approx(11.987 - 1.234, abs=1e-12)
    assert window.energy == pytest.approx(analytic, rel=1e-9)
    assert window.energy_per_inference == pytest.approx(analytic / 70, rel=1e-9)
    assert window.power == pytest.approx(analytic / (11.987 - 1.234), rel=1e-9)


def test_window_energy_survives_the_lpm01a_number_format():
    """Four significant digits per sample: the window energy stays within 0.05 %."""
    trace, energy_to = sine_power_trace(0.041, 0.010, 11.0, 12.0, events=[500, 11200])
    trace.samples = np.array([parse_sample(format_sample(x)) for x in trace.samples])
    window = measure_window(trace, iterations=20)
    assert window.energy == pytest.approx(energy_to(11.2) - energy_to(0.5), rel=5e-4)


def test_power_model_energy_between_unaligned_edges():
    """Busy from t0 to t1 (not on sample boundaries): the model integrates exactly, and a window
    made of whole samples is off by less than one sample period at each end."""
    profile = BoardPowerProfile("test", active_mw=30.0, idle_mw=5.0, source="test")
    origin = 1_000_000_000
    model = PowerModel(profile, origin_ns=origin)
    t0, t1 = origin + 123_456_789, origin + 2_654_321_000
    model.busy(t0)
    model.idle(t1)
    exact = model.cumulative_energy(origin + 3_000_000_000) - model.cumulative_energy(origin)
    analytic = 0.005 * 3.0 + (0.030 - 0.005) * (t1 - t0) * 1e-9
    assert exact == pytest.approx(analytic, rel=1e-12)
    samples = model.bin_energies(origin, RATE, 0, 3000)
    assert samples.sum() == pytest.approx(analytic, rel=1e-12)
    assert samples[500] == pytest.approx(0.030 / RATE, rel=1e-12)     # inside the busy stretch
    assert samples[2900] == pytest.approx(0.005 / RATE, rel=1e-12)    # idle again


def test_sample_format_round_trip():
    assert parse_sample("6409-07") == pytest.approx(6409e-7)
    assert parse_sample("1234+02") == pytest.approx(123400.0)
    assert format_sample(6409e-7) == "6409-07"
    assert format_sample(4.1e-5) == "4100-08"
    assert format_sample(0.0) == "0000+00"
    assert format_sample(9.99999e-5) == "1000-07"     # rounding carries into the exponent
    for value in np.geomspace(1e-9, 10, 57):
        assert parse_sample(format_sample(value)) == pytest.approx(value, rel=5e-4)
    with pytest.raises(ValueError):
        parse_sample("64a9-07")


def test_the_last_two_events_bracket_the_window():
    """An early extra edge (the boot pulse) is tolerated: the window is between the last two."""
    trace, energy_to = sine_power_trace(0.01, 0.0, 1.0, 5.0, events=[100, 1000, 4000])
    window = measure_window(trace, iterations=10)
    assert (window.start_index, window.end_index) == (1000, 4000)
    assert window.energy == pytest.approx(0.01 * 3.0, rel=1e-9)


def test_lost_events_are_refused_not_measured():
    trace, _ = sine_power_trace(0.01, 0.0, 1.0, 5.0, events=[100, 1000])
    trace.events[1].number = 2      # counter 1 never arrived
    with pytest.raises(DataLost, match="not consecutive"):
        measure_window(trace, iterations=10)
    trace, _ = sine_power_trace(0.01, 0.0, 1.0, 5.0, events=[1000])
    with pytest.raises(DataLost, match="two are needed"):
        measure_window(trace, iterations=10)
    trace, _ = sine_power_trace(0.01, 0.0, 1.0, 5.0, events=[100, 1000, 4000])
    with pytest.raises(DataLost, match="3 timestamp event"):
        measure_window(trace, iterations=10, expected_events=2)


def _windows(per_inference_uj, elapsed=12.0, iterations=50):
    windows = []
    for value in per_inference_uj:
        total = value * 1e-6 * iterations
        samples = np.full(int(elapsed * RATE) + 2, total / (elapsed * RATE))
        trace = Trace(samples=samples, sample_rate=RATE, voltage=1.8, monitor="synthetic",
                      events=[Event(0, 1), Event(1, 1 + int(elapsed * RATE))])
        windows.append(measure_window(trace, iterations))
    return windows


def test_results_lines_carry_the_median_the_checker_reads():
    values = [812.5, 790.25, 801.0, 1200.0, 799.75]
    lines = summary_lines(_windows(values), required_windows=5, min_seconds=10.0,
                          simulated=False, monitor="LPM01A 1234")
    found = [CHECKER_ENERGY.search(line) for line in lines]
    medians = [float(m.group(1)) for m in found if m]
    assert medians == [pytest.approx(801.0, abs=1e-4)]
    assert lines.count("Energy data for trial 0") == 1
    assert "Energy data for trial 4" in lines
    assert not any(line.startswith("ERROR") for line in lines)
    assert not any("SIMULATED" in line for line in lines)
    assert median_energy_uj(_windows(values)) == pytest.approx(801.0, rel=1e-9)


def test_results_lines_say_what_makes_a_run_invalid():
    lines = summary_lines(_windows([500.0, 510.0, 505.0], elapsed=0.5), required_windows=5,
                          min_seconds=10.0, simulated=True, monitor="simulated",
                          problems=["windows of 0.5 s were asked for (--short-window)"])
    text = "\n".join(lines)
    assert "below minimum duration" in text
    assert "ERROR: Not valid for submission.  windows of 0.5 s were asked for" in text
    assert "All inference times must be at least 10 seconds" in text
    assert "Energy mode must include exactly 5 measurements" in text
    assert "ERROR: Not valid for submission.  The power monitor was simulated." in lines
    assert "NOTE: SIMULATED power monitor" in text
    # No line the submission checker would take for a result; the median is still given.
    assert not any(CHECKER_ENERGY.search(line) for line in lines)
    median_line = next(line for line in lines if "Median energy cost of these windows" in line)
    assert median_line.endswith("505.0000 uJ/inf. (SIMULATED)")
    # A simulated monitor alone makes a full, long run invalid too.
    lines = summary_lines(_windows([1.0] * 5), 5, 10.0, simulated=True, monitor="simulated")
    assert not any(CHECKER_ENERGY.search(line) for line in lines)


def test_plot_and_record_of_a_window(tmp_path):
    trace, _ = sine_power_trace(0.02, 0.005, 2.0, 3.0, events=[500, 2500])
    trace.simulated = True
    window = measure_window(trace, iterations=5)
    path = plot_window(trace, window, tmp_path / "energy_inf_000.png", "kws01 window 0")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    record = trace_record(trace)
    assert record["timestamps"] == [[0, 500], [1, 2500]]
    assert record["simulated"] is True and len(record["samples"]) == 3000
