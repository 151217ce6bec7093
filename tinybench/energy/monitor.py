"""What every power monitor gives the runner: one interface, one kind of result.

A monitor powers the DUT at a chosen voltage and records the energy it draws as a stream of
samples, each the energy of one sample period (joules), plus the DUT's timestamp events (the falling
edges of its timestamp pin), each placed at the sample count when it happened. That is what the
LPM01A streams in its `energy` output mode, and what the other monitors are made to give.

    monitor.setup(voltage)      once: configure, power the DUT
    monitor.start()             begin a trace
    ...the DUT runs one window...
    trace = monitor.stop()      the samples and events since start()
    monitor.teardown()          once: stop acquiring, power off, release the device
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinybench.errors import UserError


class MonitorError(UserError):
    """The power monitor misbehaved (no acknowledgement, lost data, refused a command). The
    message names the monitor and the problem; no trace is returned."""


class DataLost(MonitorError):
    """Samples or events of a trace were lost: the trace cannot be trusted, but the window can be
    measured again."""


@dataclass
class Event:
    """One timestamp event: the monitor's event counter and the number of samples recorded before
    it (so samples[index:] come after the edge)."""
    number: int
    index: int


@dataclass
class Trace:
    samples: np.ndarray          # energy of each sample period, joules
    sample_rate: float           # samples per second
    events: list[Event]
    voltage: float               # volts supplied to the DUT
    monitor: str                 # what measured it, e.g. "LPM01A (board 1234)", "simulated"
    simulated: bool = False      # True when no real instrument measured this trace
    notes: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def power_mw(self) -> np.ndarray:
        """Mean power of each sample period, milliwatts."""
        return np.asarray(self.samples) * self.sample_rate * 1e3


class PowerMonitor:
    """The interface of every monitor (see the module docstring)."""

    name = "power monitor"
    simulated = False

    def setup(self, voltage: float) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> Trace:
        raise NotImplementedError

    def teardown(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.teardown()
