"""The Joulescope monitor, driven through a stand-in for the `joulescope` package that has the
calls the monitor uses (scan_require_one, parameter_set, stream_process_register, start, stop,
close, and a stream buffer with sample_id_range and samples_get). No Joulescope is needed; what is
checked is the integration into 1 kHz energy samples, the GPI0 edges and lost samples."""
from __future__ import annotations

import sys
import threading
import types

import numpy as np
import pytest

from tinybench.energy.monitor import DataLost
from tinybench.energy.results import measure_window
from tinybench.errors import UserError

RAW_RATE = 100_000


class FakeStreamBuffer:
    output_sampling_frequency = RAW_RATE

    def __init__(self):
        self.power = np.zeros(0)
        self.gpi0 = np.zeros(0, dtype=np.uint8)
        self.first = 0

    @property
    def sample_id_range(self):
        return self.first, self.first + len(self.power)

    def samples_get(self, start, stop, fields):
        a, b = start - self.first, stop - self.first
        signals = {"power": {"value": self.power[a:b], "units": "W"},
                   "current_lsb": {"value": self.gpi0[a:b], "units": ""}}
        return {"time": {}, "signals": {f: signals[f] for f in fields}}


class FakeDevice:
    def __init__(self):
        self.parameters = {}
        self.buffer = FakeStreamBuffer()
        self.sinks = []
        self.streaming = False

    def __str__(self):
        return "Device(js220/000123)"

    def open(self):
        pass

    def parameter_set(self, name, value):
        self.parameters[name] = value

    def stream_process_register(self, obj):
        self.sinks.append(obj)

    def start(self):
        self.streaming = True
        for sink in self.sinks:
            sink.start(self.buffer)

    def stop(self):
        self.streaming = False

    def close(self):
        pass

    def feed(self, power, gpi0, skip=0):
        """New samples arrive (after `skip` samples the buffer dropped)."""
        b = self.buffer
        b.first += len(b.power) + skip
        b.power, b.gpi0 = np.asarray(power, float), np.asarray(gpi0, np.uint8)
        for sink in self.sinks:
            sink.stream_notify(b)


@pytest.fixture
def fake_joulescope(monkeypatch):
    device = FakeDevice()
    module = types.SimpleNamespace(scan_require_one=lambda config=None: device)
    monkeypatch.setitem(sys.modules, "joulescope", module)
    return device


def test_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "joulescope", None)    # makes `import joulescope` fail
    from tinybench.energy.joulescope_monitor import Joulescope
    with pytest.raises(UserError, match="pip install joulescope"):
        Joulescope()


def test_power_is_integrated_to_energy_samples_and_gpi0_falls_are_events(fake_joulescope):
    from tinybench.energy.joulescope_monitor import Joulescope
    monitor = Joulescope()
    monitor.setup(3.3)
    assert fake_joulescope.parameters["current_lsb"] == "gpi0"
    monitor.start()
    # 2 s of signal at 100 kS/s: idle 10 mW, busy 30 mW from 0.4123 s to 1.5678 s, with the pin
    # pulled low for 5 us at both ends.
    n = 2 * RAW_RATE
    t = np.arange(n) / RAW_RATE
    busy = (t >= 0.4123) & (t < 1.5678)
    power = np.where(busy, 0.030, 0.010)
    gpi0 = np.ones(n, dtype=np.uint8)
    for edge in (41230, 156780):
        gpi0[edge:edge + 5] = 0
    for block in range(0, n, 7919):     # in uneven blocks, as USB transfers come
        fake_joulescope.feed(power[block:block + 7919], gpi0[block:block + 7919])
    # stop() waits for the stream to catch up: more (idle) data arrives meanwhile.
    threading.Timer(0.05, fake_joulescope.feed,
                    (np.full(RAW_RATE // 2, 0.010), np.ones(RAW_RATE // 2))).start()
    trace = monitor.stop()
    assert len(trace.samples) == 2500
    power = np.concatenate((power, np.full(RAW_RATE // 2, 0.010)))
    assert [e.index for e in trace.events] == [412, 1567]
    assert trace.samples.sum() == pytest.approx(power.sum() / RAW_RATE, rel=1e-12)
    window = measure_window(trace, iterations=7, expected_events=2)
    expected = 0.030 * (1.5678 - 0.4123)
    assert window.energy == pytest.approx(expected, abs=2 * 0.030 / 1000)
    assert not trace.simulated and "Joulescope" in trace.monitor
    monitor.teardown()
    assert not fake_joulescope.streaming


def test_a_stalled_stream_refuses_the_window(fake_joulescope, monkeypatch):
    from tinybench.energy import joulescope_monitor
    monkeypatch.setattr(joulescope_monitor, "STALL_TIMEOUT", 0.2)
    monitor = joulescope_monitor.Joulescope()
    monitor.setup(1.8)
    monitor.start()
    fake_joulescope.feed(np.full(1000, 0.01), np.ones(1000))
    with pytest.raises(DataLost, match="stream stalled"):
        monitor.stop()
    monitor.teardown()


def test_samples_the_driver_skipped_refuse_the_window(fake_joulescope):
    from tinybench.energy.joulescope_monitor import Joulescope
    monitor = Joulescope()
    monitor.setup(1.8)
    monitor.start()
    fake_joulescope.feed(np.full(1000, 0.01), np.ones(1000))
    fake_joulescope.feed(np.full(1000, 0.01), np.ones(1000), skip=300)
    threading.Timer(0.05, fake_joulescope.feed,
                    (np.full(RAW_RATE // 2, 0.01), np.ones(RAW_RATE // 2))).start()
    with pytest.raises(DataLost, match="skipped 300 samples"):
        monitor.stop()
    monitor.teardown()
