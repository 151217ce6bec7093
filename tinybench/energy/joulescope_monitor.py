"""A Joulescope JS110 or JS220 through the `joulescope` package (an optional extra:
`pip install joulescope`).

The Joulescope sits in series with the DUT's supply and streams current, voltage and power at up
to 2 MS/s, with its general-purpose input GPI0 sampled alongside (wire the DUT's timestamp pin to
it). This monitor turns that stream into what every monitor gives (monitor.py): the power
integrated into energy samples at 1 kHz, and an event at each falling edge of GPI0 (the DUT pulls
its open-drain pin low to mark a timestamp). Samples the driver skipped make the trace DataLost.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from tinybench.energy.monitor import DataLost, Event, MonitorError, PowerMonitor, Trace
from tinybench.errors import UserError

SAMPLE_RATE = 1000
STREAM_LATENCY = 0.2
"""Seconds the USB stream may lag behind the DUT's edges: stop() waits for this much more."""
STALL_TIMEOUT = 2.0


def import_joulescope():
    """The joulescope package, or a UserError that says how to get it."""
    try:
        import joulescope
    except ImportError:
        raise UserError("the Joulescope monitor needs the optional 'joulescope' package: "
                        "pip install joulescope (and its udev rules on Linux, see "
                        "https://github.com/jetperch/pyjoulescope)") from None
    return joulescope


class _Integrator:
    """Turns blocks of raw power and GPI0 samples into energy samples at the output rate and
    falling-edge events. Kept apart from the driver so it can be checked on known signals."""

    def __init__(self, raw_rate: float, sample_rate: int):
        ratio = raw_rate / sample_rate
        if abs(ratio - round(ratio)) > 1e-9 or ratio < 1:
            raise MonitorError(f"the Joulescope streams at {raw_rate:g} Hz, which is not a whole "
                               f"multiple of {sample_rate} Hz")
        self.raw_rate = raw_rate
        self.per_sample = int(round(ratio))
        self._carry = np.zeros(0)
        self._last_level: int | None = None
        self.energy: list[float] = []
        self.edges: list[int] = []     # output sample index of each falling edge

    def add(self, power_w: np.ndarray, gpi0: np.ndarray) -> None:
        raw_index = len(self.energy) * self.per_sample + len(self._carry)
        levels = np.asarray(gpi0).astype(np.int8) & 1
        if len(levels):
            previous = np.concatenate(([self._last_level if self._last_level is not None
                                        else levels[0]], levels[:-1]))
            for i in np.nonzero((previous == 1) & (levels == 0))[0]:
                self.edges.append((raw_index + int(i)) // self.per_sample)
            self._last_level = int(levels[-1])
        power = np.concatenate((self._carry, np.asarray(power_w, dtype=np.float64)))
        whole = len(power) // self.per_sample * self.per_sample
        if whole:
            blocks = power[:whole].reshape(-1, self.per_sample)
            self.energy.extend((blocks.sum(axis=1) / self.raw_rate).tolist())
        self._carry = power[whole:]


class _StreamSink:
    """What the joulescope driver calls from its thread (its stream-process API: start,
    stream_notify, stop, close, driver_active). Keeps the integrator fed and counts samples the
    driver's buffer dropped before they were read."""

    def __init__(self, sample_rate: int):
        self.sample_rate = sample_rate
        self.lock = threading.Lock()
        self.integrator: _Integrator | None = None
        self.lost = 0
        self.driver_active = True
        self._next_id: int | None = None

    def start(self, stream_buffer) -> None:
        rate = float(stream_buffer.output_sampling_frequency)
        with self.lock:
            self.integrator = _Integrator(rate, self.sample_rate)
            self._next_id = None

    def stream_notify(self, stream_buffer) -> bool:
        if self.integrator is None:
            self.start(stream_buffer)
        first, end = stream_buffer.sample_id_range
        with self.lock:
            if self._next_id is None:
                self._next_id = first
            if first > self._next_id:     # the buffer moved past samples we had not read
                self.lost += first - self._next_id
                self._next_id = first
            if end <= self._next_id:
                return False
            data = stream_buffer.samples_get(self._next_id, end, fields=["power", "current_lsb"])
            self.integrator.add(data["signals"]["power"]["value"],
                                data["signals"]["current_lsb"]["value"])
            self._next_id = end
        return False    # never ask the driver to stop

    def stop(self) -> None:
        pass

    def close(self) -> None:
        self.driver_active = False


class Joulescope(PowerMonitor):
    name = "Joulescope"

    def __init__(self, sample_rate: int = SAMPLE_RATE, log: Callable[[str], None] | None = None):
        self.js = import_joulescope()
        self.sample_rate = sample_rate
        self.log = log or (lambda line: None)
        self.device = None
        self.voltage = 0.0
        self._sink = _StreamSink(sample_rate)
        self._mark = 0
        self._mark_edges = 0
        self._events = 0

    def setup(self, voltage: float) -> None:
        try:
            self.device = self.js.scan_require_one(config="auto")
        except Exception as exc:     # the package raises RuntimeError for none or several
            raise UserError(f"no single Joulescope found ({exc}): connect exactly one, or check "
                            f"its udev rules") from None
        self.voltage = voltage
        self.log(f"joulescope: {self.device}; it measures in series with the DUT's supply, "
                 f"which you set to {voltage:g} V yourself")
        try:
            self.device.open()
            for name, value in (("sensor_power", "on"), ("i_range", "auto"), ("source", "on"),
                                ("current_lsb", "gpi0")):
                self.device.parameter_set(name, value)
            self.device.stream_process_register(self._sink)
            self.device.start()
        except Exception as exc:
            raise MonitorError(f"the Joulescope did not start streaming: {exc}") from None

    def start(self) -> None:
        if self.device is None:
            raise RuntimeError("start() before setup()")
        with self._sink.lock:
            self._sink.lost = 0
            integrator = self._sink.integrator
            self._mark = len(integrator.energy) if integrator else 0
            self._mark_edges = len(integrator.edges) if integrator else 0

    def _available(self) -> int:
        with self._sink.lock:
            return len(self._sink.integrator.energy) if self._sink.integrator else 0

    def stop(self) -> Trace:
        # Wait for the stream to pass this moment by STREAM_LATENCY, so that an edge the DUT made
        # just before this call is in the trace.
        target = self._available() + int(STREAM_LATENCY * self.sample_rate)
        deadline = time.monotonic() + STALL_TIMEOUT
        while self._available() < target:
            if time.monotonic() > deadline:
                raise DataLost(f"the Joulescope stream stalled (no data for {STALL_TIMEOUT:g} s)")
            time.sleep(0.01)
        with self._sink.lock:
            integrator, lost = self._sink.integrator, self._sink.lost
            if integrator is None:
                raise DataLost("the Joulescope streamed no data")
            samples = np.array(integrator.energy[self._mark:])
            edges = integrator.edges[self._mark_edges:]
        if lost:
            raise DataLost(f"the Joulescope driver skipped {lost} samples in this window")
        events = []
        for index in edges:
            events.append(Event(self._events, index - self._mark))
            self._events += 1
        return Trace(samples=samples, sample_rate=self.sample_rate, events=events,
                     voltage=self.voltage, monitor=f"Joulescope {self.device}")

    def teardown(self) -> None:
        if self.device is None:
            return
        self._sink.close()
        for step in (self.device.stop, self.device.close):
            try:
                step()
            except Exception as exc:
                self.log(f"joulescope: teardown: {exc}")
        self.device = None
