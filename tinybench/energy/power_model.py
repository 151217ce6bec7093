"""The power a simulated DUT draws: active power while it is busy, idle power otherwise.

A simulated monitor (simulated.py, lpm01a_sim.py) has no current to measure, so it integrates this
model instead. The busy/idle changes and the timestamp pulses come from the DUT itself (the host
board reports them, see dut_signals.py), so the energy of a window follows what the firmware really
did and for how long. All times are CLOCK_MONOTONIC nanoseconds (Python's time.monotonic_ns()),
the clock the host board stamps its reports with.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BoardPowerProfile:
    name: str
    active_mw: float     # while computing
    idle_mw: float       # while waiting for the host (sleeping in WFI on a real board)
    source: str          # where the figures come from


# The reference board. Active power: the published v0.5 reference results on the NUCLEO-L4R5ZI
# (../shared/mlperf-tiny/README.md) give energy / latency = 40.5-41.5 mW for all four benchmarks.
# Idle power is an estimate (Cortex-M4 sleep at 120 MHz with its peripherals on); it only affects
# the trace outside the timed inferences.
REFERENCE_BOARD = BoardPowerProfile(
    name="nucleo-l4r5zi", active_mw=41.0, idle_mw=12.0,
    source="active: published reference results (energy / latency); idle: estimate")

PROFILES = {p.name: p for p in [REFERENCE_BOARD]}


def profile_for_board(board: str | None) -> BoardPowerProfile:
    """The power profile of a board; boards without their own (the host board, QEMU) stand in for
    the reference board."""
    return PROFILES.get(board or "", REFERENCE_BOARD)


class PowerModel:
    """Piecewise-constant power from busy/idle changes, plus the timestamp pulses. Thread-safe:
    one thread records (the DUT-signal reader), another integrates (a simulated monitor)."""

    def __init__(self, profile: BoardPowerProfile = REFERENCE_BOARD, origin_ns: int | None = None):
        self.profile = profile
        self.origin_ns = time.monotonic_ns() if origin_ns is None else origin_ns
        self._lock = threading.Lock()
        # Power changes: times (s after origin), the power from then on (W), and the energy (J)
        # accumulated up to each change. The DUT starts idle.
        self._times = [0.0]
        self._power = [profile.idle_mw * 1e-3]
        self._energy = [0.0]
        self._pulses: list[int] = []
        self.late_reports = 0   # reports older than the last one recorded (clock trouble)

    def _seconds(self, t_ns: int) -> float:
        return (t_ns - self.origin_ns) * 1e-9

    # -- recording ---------------------------------------------------------------------------
    def record(self, kind: str, t_ns: int) -> None:
        """One report from the DUT: 'busy', 'idle' or 'ts' (a timestamp pulse) at t_ns."""
        with self._lock:
            if kind == "ts":
                self._pulses.append(t_ns)
                return
            watts = (self.profile.active_mw if kind == "busy" else self.profile.idle_mw) * 1e-3
            t = max(self._seconds(t_ns), self._times[-1])
            if t_ns < self.origin_ns or self._seconds(t_ns) < self._times[-1]:
                self.late_reports += 1
            self._energy.append(self._energy[-1] + self._power[-1] * (t - self._times[-1]))
            self._times.append(t)
            self._power.append(watts)

    def busy(self, t_ns: int) -> None:
        self.record("busy", t_ns)

    def idle(self, t_ns: int) -> None:
        self.record("idle", t_ns)

    def pulse(self, t_ns: int) -> None:
        self.record("ts", t_ns)

    # -- reading -----------------------------------------------------------------------------
    def cumulative_energy(self, t_ns) -> np.ndarray:
        """Energy (J) drawn from the origin up to each time in t_ns (an int or an array)."""
        with self._lock:
            times = np.asarray(self._times)
            power = np.asarray(self._power)
            energy = np.asarray(self._energy)
        t = (np.asarray(t_ns, dtype=np.int64) - self.origin_ns) * 1e-9
        t = np.maximum(t, 0.0)
        j = np.searchsorted(times, t, side="right") - 1
        return energy[j] + power[j] * (t - times[j])

    def bin_energies(self, start_ns: int, sample_rate: float, first: int, count: int) -> np.ndarray:
        """Energy of sample periods first..first+count-1, period k covering
        [start + k/rate, start + (k+1)/rate)."""
        edges = start_ns + np.round(np.arange(first, first + count + 1) * (1e9 / sample_rate))
        return np.diff(self.cumulative_energy(edges.astype(np.int64)))

    def pulses_between(self, start_ns: int, end_ns: int) -> list[int]:
        """Pulse times t with start <= t < end, in order."""
        with self._lock:
            return [t for t in self._pulses if start_ns <= t < end_ns]
