"""The STM32 X-NUCLEO-LPM01A (PowerShield) over its serial port (../shared/mlperf-tiny/SPEC.md 2.10).

The host sends `<command>\\r\\n`; the board answers `PowerShield > ack <command> [output]`, or an
`error` line followed by `Error detail: ...`. In `energy` output mode with `ascii_dec` format it
streams, once acquisition has started:

    6409-07                          the energy of one sample period: 6409e-7 J
    event 3 ris                      a timestamp event (the DUT pulled its pin low), counter 3
    TimeStamp: 012s 345ms, buff 00%  once a second

How this client keeps the numbers honest:
- Stale output (an acquisition an earlier run never stopped, acknowledgements of old commands) is
  drained before setup and told apart from answers: an acknowledgement counts only when it names
  the command just sent, and samples count only after the acknowledgement of our `start`.
- A command that is not acknowledged is sent again, a bounded number of times, then refused with a
  message saying what to check.
- Every trace is checked before it is returned: the samples between two TimeStamp lines must be
  exactly the sample rate times the time between them (a dropped or garbled sample line fails
  this), and the event counters must run without a gap. A trace that fails raises DataLost.
"""
from __future__ import annotations

import queue
import re
import threading
import time
from typing import Callable

import numpy as np
import serial

from tinybench.energy.monitor import DataLost, Event, MonitorError, PowerMonitor, Trace
from tinybench.errors import UserError

BAUD = 3_686_400
PROMPT = "PowerShield > "
LCD_TITLE = ("MLPerf Tiny", "     monitor    ")
SAMPLE_RATE = 1000
FREQ_ARGUMENT = {1000: "1k"}      # sample rate -> `freq` argument
VOLTAGE_RANGE_MV = (1800, 3300)
COMPLETED = "Acquisition completed"
POWER_ON_SETTLE = 1.0
"""Seconds to let the DUT boot after `pwr on` (the official startup sequence waits 1 s)."""
STREAM_LATENCY = 0.2
"""Seconds the sample stream may lag behind the DUT's edges."""

_SAMPLE = re.compile(r"(\d{4})([+-])(\d{2})")
_SAMPLES_LINE = re.compile(r"(?:\d{4}[+-]\d{2})+")
_TIMESTAMP = re.compile(r"TimeStamp:\s*(\d+)\s*s\s*(\d+)\s*ms,\s*buff\s*(\d+)\s*%")
_EVENT = re.compile(r"event (\d+) (?:ris|fal)")


# -- the ascii_dec number format (one place for both the client and the simulator) ----------------
def format_sample(value: float) -> str:
    """A non-negative value as `dddd[+-]dd`: four digits of mantissa, a signed two-digit power of
    ten (6409-07 is 6409e-7)."""
    if value <= 0:
        return "0000+00"
    exponent = int(np.floor(np.log10(value))) - 3
    mantissa = int(round(value / 10.0 ** exponent))
    if mantissa >= 10000:
        mantissa, exponent = mantissa // 10, exponent + 1
    if not -99 <= exponent <= 99:
        raise ValueError(f"{value} is out of the ascii_dec range")
    return f"{mantissa:04d}{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def parse_sample(text: str) -> float:
    match = _SAMPLE.fullmatch(text)
    if not match:
        raise ValueError(f"not an ascii_dec sample: {text!r}")
    mantissa, sign, exponent = match.groups()
    return int(mantissa) * 10.0 ** (int(exponent) if sign == "+" else -int(exponent))


def voltage_argument(voltage: float) -> str:
    """The `volt` argument for a voltage in volts, e.g. 1.8 -> '1800m'."""
    millivolts = int(round(voltage * 1000))
    low, high = VOLTAGE_RANGE_MV
    if not low <= millivolts <= high:
        raise UserError(f"the LPM01A supplies {low / 1000:g} V to {high / 1000:g} V; "
                        f"{voltage:g} V is out of range")
    return f"{millivolts}m"


class _NoAck(Exception):
    pass


class Lpm01a(PowerMonitor):
    """An LPM01A on a serial port (a device path or any pyserial URL)."""

    name = "LPM01A"

    def __init__(self, port: str, baud: int = BAUD, sample_rate: int = SAMPLE_RATE,
                 ack_timeout: float = 2.0, retries: int = 3,
                 power_on_settle: float = POWER_ON_SETTLE,
                 log: Callable[[str], None] | None = None):
        if sample_rate not in FREQ_ARGUMENT:
            raise UserError(f"LPM01A sample rates supported here: {sorted(FREQ_ARGUMENT)} Hz")
        self.port_name = port
        self.sample_rate = sample_rate
        self.ack_timeout = ack_timeout
        self.retries = retries
        self.power_on_settle = power_on_settle
        self.log = log or (lambda line: None)
        try:
            self._port = serial.serial_for_url(port, baudrate=baud, timeout=0.05, write_timeout=5)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise UserError(f"cannot open the LPM01A port {port}: {exc}") from None
        self._lock = threading.Lock()
        self._messages: queue.Queue[str] = queue.Queue()
        self._reset_stream(collecting=False)
        self._stale_samples = 0
        self._expecting_start = False
        self._running = True
        self._reader = threading.Thread(target=self._read_loop, name="lpm01a-reader", daemon=True)
        self._reader.start()
        self.voltage = 0.0
        self.board_id = ""
        self.firmware = ""
        self.simulated = False
        self._acquiring = False
        self._mark = 0
        self._events_before_mark: int | None = None

    # -- the reader thread ---------------------------------------------------------------------
    def _reset_stream(self, collecting: bool) -> None:
        self._collecting = collecting
        self._samples: list[float] = []
        self._stamps: list[tuple[int, int]] = []      # (samples before it, monitor time in ms)
        self._events: list[Event] = []
        self._garbled = 0
        self._buffer_percent = 0

    def _read_loop(self) -> None:
        pending = b""
        while self._running:
            try:
                chunk = self._port.read(self._port.in_waiting or 1)
            except (serial.SerialException, OSError, TypeError, AttributeError):
                if self._running:
                    self._messages.put("\0port-lost")
                return
            if not chunk:
                continue
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.replace(b"\r", b"").replace(b"\0", b"").decode("ascii", "replace")
                self._classify(line.strip())

    def _classify(self, line: str) -> None:
        if not line:
            return
        prompt = PROMPT.rstrip()
        text = line[len(prompt):].strip() if line.startswith(prompt) else line
        if not text:
            return      # a bare prompt
        if _SAMPLES_LINE.fullmatch(text):
            with self._lock:
                if self._collecting:
                    self._samples.extend(parse_sample(m.group(0)) for m in _SAMPLE.finditer(text))
                else:
                    self._stale_samples += 1
            return
        stamp = _TIMESTAMP.fullmatch(text)
        if stamp:
            with self._lock:
                if self._collecting:
                    ms = int(stamp.group(1)) * 1000 + int(stamp.group(2))
                    self._stamps.append((len(self._samples), ms))
                    self._buffer_percent = max(self._buffer_percent, int(stamp.group(3)))
            return
        event = _EVENT.fullmatch(text)
        if event:
            with self._lock:
                if self._collecting:
                    self._events.append(Event(int(event.group(1)), len(self._samples)))
            return
        if text == "ack start" and self._expecting_start:
            with self._lock:   # samples count from here: the stream of our acquisition
                self._reset_stream(collecting=True)
                self._expecting_start = False
        elif COMPLETED in text:
            with self._lock:
                self._collecting = False
        elif self._collecting and any(c.isdigit() for c in text) and not text.startswith(
                ("ack", "error", "Error")):
            with self._lock:
                self._garbled += 1    # most likely a damaged sample line
            self.log(f"lpm01a: garbled line in the data stream: {text!r}")
            return
        self._messages.put(text)

    # -- commands --------------------------------------------------------------------------------
    def _discard_messages(self) -> None:
        while True:
            try:
                line = self._messages.get_nowait()
            except queue.Empty:
                return
            self.log(f"lpm01a < {line}  (stale, discarded)")

    def _write(self, text: str) -> None:
        self.log(f"lpm01a > {text}")
        try:
            self._port.write(text.encode("ascii") + b"\r\n")
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise MonitorError(f"cannot write to the LPM01A on {self.port_name}: {exc}") from None

    def _next_message(self, deadline: float) -> str | None:
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            return None
        try:
            line = self._messages.get(timeout=timeout)
        except queue.Empty:
            return None
        if line == "\0port-lost":
            raise MonitorError(f"the LPM01A port {self.port_name} went away (unplugged?)")
        return line

    def _await_ack(self, text: str, timeout: float) -> str:
        """The output of the acknowledgement of `text`; MonitorError on an error reply, _NoAck
        when nothing that answers `text` arrives in time. Anything else is stale and skipped."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._next_message(deadline)
            if line is None:
                raise _NoAck()
            if line == f"ack {text}" or line.startswith(f"ack {text} "):
                self.log(f"lpm01a < {line}")
                return line[len(f"ack {text}"):].strip()
            if line.startswith("error") and text in line:
                self.log(f"lpm01a < {line}")
                detail = ""
                while True:
                    more = self._next_message(time.monotonic() + 0.5)
                    if more is None:
                        break
                    self.log(f"lpm01a < {more}")
                    if more.startswith("Error detail"):
                        detail = more.split(":", 1)[-1].strip()
                        break
                raise MonitorError(f"the LPM01A refused '{text}': {detail or line}")
            self.log(f"lpm01a < {line}  (not the answer to '{text}', skipped)")

    def command(self, text: str, timeout: float | None = None) -> str:
        """Send one command and return the output of its acknowledgement, retrying when no
        acknowledgement comes."""
        for attempt in range(1, self.retries + 1):
            self._discard_messages()
            self._write(text)
            try:
                return self._await_ack(text, timeout or self.ack_timeout)
            except _NoAck:
                self.log(f"lpm01a: no acknowledgement of '{text}' (try {attempt} of {self.retries})")
        raise MonitorError(
            f"the LPM01A on {self.port_name} did not acknowledge '{text}' after {self.retries} "
            f"tries: check that this port is the PowerShield (not the DUT or an ST-LINK), that "
            f"no other program has it open, and power-cycle the board")

    def _stop_acquisition(self, timeout: float = 3.0) -> bool:
        """Send `stop` and wait for the acquisition to complete; False when it never says so."""
        for _ in range(2):
            self._discard_messages()
            self._write("stop")
            deadline = time.monotonic() + timeout
            while True:
                line = self._next_message(deadline)
                if line is None:
                    break
                if COMPLETED in line:
                    with self._lock:
                        self._collecting = False
                    return True
        return False

    def _drain_stale(self, quiet: float = 0.3, limit: float = 3.0) -> None:
        """Let whatever the board is still sending arrive, and stop an acquisition that an earlier
        run left running."""
        with self._lock:
            self._stale_samples = 0
        stop_at = time.monotonic() + limit
        time.sleep(quiet)
        with self._lock:
            streaming = self._stale_samples > 0
        if streaming:
            self.log("lpm01a: the board is still streaming from an earlier acquisition; stopping it")
            self.command("htc")
            if not self._stop_acquisition():
                raise MonitorError(f"the LPM01A on {self.port_name} keeps streaming and does not "
                                   f"answer 'stop': power-cycle it")
        while time.monotonic() < stop_at:
            with self._lock:
                before = self._stale_samples
            time.sleep(quiet / 3)
            with self._lock:
                if self._stale_samples == before:
                    break
        self._discard_messages()

    # -- PowerMonitor ------------------------------------------------------------------------------
    def setup(self, voltage: float) -> None:
        """The configuration sequence of SPEC 2.10, then power on the DUT."""
        volt = voltage_argument(voltage)
        self._drain_stale()
        self.command("htc")
        self.board_id = self.command("powershield").replace("PowerShield present", "").strip()
        self.firmware = self.command("version")
        self.simulated = "SIMULATED" in self.board_id.upper()
        self.log(f"lpm01a: board {self.board_id!r}, firmware {self.firmware!r}")
        self.command(f'lcd 1 "{LCD_TITLE[0]}"')
        self.command(f'lcd 2 "{LCD_TITLE[1]}"')
        self.command("pwr off")
        self.command("acqtime inf")
        self.command("trigdelay 0")
        self.command("trigsrc sw")
        self.command("eventsrc d7 fal")
        self.command("output energy")
        self.command("format ascii_dec")
        self.command(f"freq {FREQ_ARGUMENT[self.sample_rate]}")
        self.command(f"volt {volt}")
        self.voltage = voltage
        self.command("pwr on nostatus")
        time.sleep(self.power_on_settle)

    def _start_acquisition(self) -> None:
        self._expecting_start = True
        try:
            self.command("start")
        except MonitorError:
            # The acknowledgement may be what got lost: stop whatever started, then try once more.
            self._stop_acquisition()
            self._expecting_start = True
            self.command("start")
        self._acquiring = True

    def start(self) -> None:
        """Begin a trace. The board's acquisition runs from the first start() to teardown() (as
        the official runner does), and a trace begins after a TimeStamp line, so that every
        sample in it lies between two TimeStamp lines and can be counted."""
        if not self._acquiring:
            self._start_acquisition()
        self._wait_for_stamp_after(0, timeout=3.0)
        with self._lock:
            self._mark = len(self._samples)
            self._events_before_mark = self._events[-1].number if self._events else None
            self._garbled = self._buffer_percent = 0      # noted per trace

    def _sample_count(self) -> int:
        with self._lock:
            return len(self._samples)

    def _wait_for_stamp_after(self, index: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._stamps and self._stamps[-1][0] >= index:
                    return
            if time.monotonic() >= deadline:
                raise DataLost(f"the LPM01A sent no TimeStamp line for {timeout:g} s: the data "
                               f"stream stalled")
            time.sleep(0.01)

    def stop(self) -> Trace:
        """The trace since start(), once a TimeStamp line after its last sample has arrived.
        Raises DataLost when samples or events of it were lost."""
        # The stream runs behind the DUT (the board's buffering, USB): wait for samples from a
        # little after this call, so that an edge the DUT made just before it is in the trace.
        end = self._sample_count() + int(STREAM_LATENCY * self.sample_rate)
        self._wait_for_stamp_after(end, timeout=2.5 + STREAM_LATENCY)
        with self._lock:
            mark = self._mark
            stamps = list(self._stamps)
            samples = np.array(self._samples[mark:], dtype=np.float64)
            events = [Event(e.number, e.index - mark) for e in self._events if e.index >= mark]
            before = self._events_before_mark
            garbled, buffer_percent = self._garbled, self._buffer_percent
        self._check_counts(stamps, mark, mark + len(samples))
        numbers = ([before] if before is not None else []) + [e.number for e in events]
        if any(b - a != 1 for a, b in zip(numbers, numbers[1:])):
            raise DataLost(f"the LPM01A's event counters jump ({numbers}): a timestamp event "
                           f"line was lost")
        notes = []
        if garbled:
            notes.append(f"{garbled} garbled line(s) in the data stream")
        if buffer_percent >= 50:
            notes.append(f"the board's buffer reached {buffer_percent}%: read the port faster")
        label = f"LPM01A {self.board_id}".strip()
        if self.simulated and "SIMULATED" not in label:
            label += " (SIMULATED)"
        return Trace(samples=samples, sample_rate=self.sample_rate, events=events,
                     voltage=self.voltage, monitor=label, simulated=self.simulated, notes=notes)

    def _check_counts(self, stamps: list[tuple[int, int]], first: int, last: int) -> None:
        """Every interval between TimeStamp lines that overlaps samples first..last must hold
        exactly sample_rate x its length in samples."""
        for (i0, t0), (i1, t1) in zip(stamps, stamps[1:]):
            if i1 < first or i0 > last:
                continue
            expected = round((t1 - t0) * self.sample_rate / 1000)
            if i1 - i0 != expected:
                raise DataLost(f"the LPM01A sent {i1 - i0} samples in {(t1 - t0) / 1000:g} s where "
                               f"{expected} were due: sample lines were lost or garbled")

    def teardown(self) -> None:
        """Stop acquiring, power the DUT off, hand the board back (SPEC 2.10 teardown). Never
        raises: it also runs after a failure."""
        try:
            if self._acquiring:
                if not self._stop_acquisition():
                    self.log("lpm01a: no 'Acquisition completed' after stop")
                self._acquiring = False
            self.command("pwr off")
            self.command("hrc")
        except (MonitorError, UserError) as exc:
            self.log(f"lpm01a: teardown: {exc}")
        finally:
            self.close()

    def close(self) -> None:
        self._running = False
        try:
            self._port.close()
        except Exception:
            pass
        self._reader.join(timeout=1)
