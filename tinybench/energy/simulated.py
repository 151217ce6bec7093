"""A simulated power monitor with no wire protocol: it integrates the DUT's power model directly.

Use it when there is no instrument and no need to exercise a monitor's serial protocol (for that,
lpm01a_sim.py serves a simulated LPM01A on a pty). Its traces say `simulated` and every result
measured with it is labelled so.
"""
from __future__ import annotations

import math
import time
from typing import Callable

from tinybench.energy.monitor import Event, PowerMonitor, Trace
from tinybench.energy.power_model import PowerModel

SAMPLE_RATE = 1000


class SimulatedMonitor(PowerMonitor):
    name = "simulated"
    simulated = True

    def __init__(self, model: PowerModel, sync: Callable[[], None] | None = None,
                 sample_rate: int = SAMPLE_RATE):
        self.model = model
        self.sync = sync or (lambda: None)    # DutSignals.sync: take in the DUT's latest reports
        self.sample_rate = sample_rate
        self.voltage = 0.0
        self._start_ns: int | None = None
        self._events = 0

    def setup(self, voltage: float) -> None:
        self.voltage = voltage

    def start(self) -> None:
        self._start_ns = time.monotonic_ns()

    def stop(self) -> Trace:
        if self._start_ns is None:
            raise RuntimeError("stop() without start()")
        start = self._start_ns
        # End on the first sample boundary after now, so that a pulse the DUT sent just before
        # its answer (and so before this call) is inside the trace.
        period_ns = 1_000_000_000 / self.sample_rate
        count = int(math.ceil((time.monotonic_ns() - start) / period_ns)) + 1
        end = start + int(count * period_ns)
        time.sleep(max(0.0, (end - time.monotonic_ns()) * 1e-9))
        self.sync()
        samples = self.model.bin_energies(start, self.sample_rate, 0, count)
        events = []
        for t in self.model.pulses_between(start, end):
            events.append(Event(self._events, (t - start) * self.sample_rate // 1_000_000_000))
            self._events += 1
        self._start_ns = None
        profile = self.model.profile
        return Trace(samples=samples, sample_rate=self.sample_rate, events=events,
                     voltage=self.voltage, simulated=True,
                     monitor=f"simulated ({profile.name} profile: {profile.active_mw:g} mW active, "
                             f"{profile.idle_mw:g} mW idle)")

    def teardown(self) -> None:
        self._start_ns = None
