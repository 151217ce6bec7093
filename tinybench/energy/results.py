"""Energy per inference from monitor traces, the results.txt lines the official checker reads, and
the plot of each window (SPEC 2.7, energy).

A window's energy is the sum of the energy samples between its last two timestamp events (the
pulses before and after the timed inferences; earlier edges are tolerated, as the official runner
does); divided by the inference count it is the energy per inference. The run's result is the
median over the windows: `Median energy cost is X uJ/inf.`
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybench.energy.monitor import DataLost, Trace

SEPARATOR = "-" * 57


@dataclass
class WindowEnergy:
    iterations: int
    elapsed: float          # seconds between the two events
    energy: float           # joules between them
    start_index: int        # sample index of the first event
    end_index: int          # sample index of the second

    @property
    def energy_per_inference(self) -> float:
        return self.energy / self.iterations

    @property
    def power(self) -> float:
        """Mean power over the window, watts."""
        return self.energy / self.elapsed


def measure_window(trace: Trace, iterations: int, expected_events: int | None = None) -> WindowEnergy:
    """The energy of the timed inferences of one window. With expected_events, a trace holding any
    other number of events is refused (a lost or extra edge would otherwise pick the wrong pair)."""
    if iterations <= 0:
        raise ValueError("iterations must be > 0")
    count = len(trace.events)
    if expected_events is not None and count != expected_events:
        raise DataLost(f"{trace.monitor} saw {count} timestamp event(s) in this window where "
                       f"{expected_events} were due (one before and one after the timed "
                       f"inferences): an edge was lost or the line is noisy")
    if count < 2:
        raise DataLost(f"{trace.monitor} saw {count} timestamp event(s) in this window; two are "
                       f"needed: check the wire from the DUT's timestamp pin to the monitor "
                       f"(LPM01A D7, Joulescope GPI0)")
    numbers = [e.number for e in trace.events]
    if any(b - a != 1 for a, b in zip(numbers, numbers[1:])):
        raise DataLost(f"{trace.monitor}: timestamp event counters are not consecutive {numbers}")
    start, end = trace.events[-2].index, trace.events[-1].index
    if not 0 <= start < end <= len(trace.samples):
        raise DataLost(f"{trace.monitor}: timestamp events at samples {start} and {end} do not "
                       f"bracket a stretch of the {len(trace.samples)} samples recorded")
    energy = float(np.sum(trace.samples[start:end], dtype=np.float64))
    return WindowEnergy(iterations=iterations, elapsed=(end - start) / trace.sample_rate,
                        energy=energy, start_index=start, end_index=end)


def median_energy_uj(windows: list[WindowEnergy]) -> float:
    return float(np.median([w.energy_per_inference for w in windows])) * 1e6


def summary_lines(windows: list[WindowEnergy], required_windows: int, min_seconds: float,
                  simulated: bool, monitor: str, problems: list[str] = ()) -> list[str]:
    """The energy section of results.txt in the official wording. The `Median energy cost is`
    line the submission checker parses is written only for a valid run; otherwise the ERROR lines
    say why, and the median is given in words the checker does not take (as performance mode
    does). A simulated monitor makes a run invalid and is named in the lines. `problems`: more
    reasons the run is invalid (a short window asked for, say)."""
    lines = ["Power Edition Output", f"Power monitor: {monitor}"]
    if simulated:
        lines.append("NOTE: SIMULATED power monitor: these figures come from a power model, "
                     "not from a measurement.")
    for i, w in enumerate(windows):
        short = "" if w.elapsed >= min_seconds else "  <<<< below minimum duration"
        lines += [f"Energy data for trial {i}",
                  f"  Elapsed time  : {w.elapsed:.4f} sec.{short}",
                  f"  Inferences    : {w.iterations}",
                  f"  Power         : {w.power * 1e3:5.4f} mW.",
                  f"  Total Energy  : {w.energy * 1e6:.3f} uJ",
                  f"  Energy/Inf    : {w.energy_per_inference * 1e6:.3f} uJ/inf"]
    errors = [f"ERROR: Not valid for submission.  {p}" for p in problems]
    if simulated:
        errors.append("ERROR: Not valid for submission.  The power monitor was simulated.")
    if any(w.elapsed < min_seconds for w in windows):
        errors.append(f"ERROR: Not valid for submission.  All inference times must be at least "
                      f"{min_seconds:g} seconds.")
    if len(windows) != required_windows:
        errors.append(f"ERROR: Not valid for submission.  Energy mode must include exactly "
                      f"{required_windows} measurements.")
    lines.append(SEPARATOR)
    if not windows:
        lines.append("No energy window was measured.")
    elif errors:
        lines.append(f"Median energy cost of these windows: {median_energy_uj(windows):.4f} "
                     f"uJ/inf." + (" (SIMULATED)" if simulated else ""))
    else:
        lines.append(f"Median energy cost is {median_energy_uj(windows):5.4f} uJ/inf.")
    lines.append(SEPARATOR)
    return lines + errors


def trace_record(trace: Trace) -> dict:
    """The `power` entry of a results.json step (the official runner's field names, plus ours)."""
    return dict(samples=[float(x) for x in trace.samples],
                timestamps=[[e.number, e.index] for e in trace.events],
                extracted_power=None, voltage=trace.voltage, sample_rate=trace.sample_rate,
                monitor=trace.monitor, simulated=trace.simulated, notes=list(trace.notes))


def plot_window(trace: Trace, window: WindowEnergy | None, path: Path, title: str) -> Path:
    """A PNG of the window's power trace with the timed inferences shaded and every timestamp
    event marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(len(trace.samples)) / trace.sample_rate
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    try:
        ax.plot(t, trace.power_mw(), color="tab:blue", linewidth=0.8, label="power")
        for event in trace.events:
            ax.axvline(event.index / trace.sample_rate, color="tab:red", linewidth=0.8)
        if window is not None:
            ax.axvspan(window.start_index / trace.sample_rate, window.end_index / trace.sample_rate,
                       color="tab:orange", alpha=0.25,
                       label=f"{window.iterations} inferences: "
                             f"{window.energy_per_inference * 1e6:.1f} uJ/inf")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("power (mW)")
        simulated = trace.simulated and "SIMULATED" not in title.upper()
        ax.set_title(title + ("  [SIMULATED monitor]" if simulated else ""))
        ax.grid(True, alpha=0.4)
        ax.legend(loc="upper right")
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
