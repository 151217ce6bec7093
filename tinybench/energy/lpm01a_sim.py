"""A simulated LPM01A (PowerShield) serving the real protocol on a pseudo-terminal.

It answers the command set the client uses (SPEC 2.10: htc, lcd, pwr, acqtime, trigdelay, trigsrc,
eventsrc, output, format, freq, volt, start, stop, hrc, plus powershield, version, status, help,
echo) and, once started, streams energy samples in `ascii_dec` at the configured rate, `event <n>
ris` lines for the DUT's timestamp pulses and a `TimeStamp:` line every second. The energy comes
from a PowerModel fed by the DUT (see dut_signals.py), so it is a simulation: `powershield` answers
with a board id that says SIMULATED, and every result measured with it is labelled so.

Faults can be switched on to test the client: output left over from an earlier run, dropped
lines, commands that are never acknowledged.

    python -m tinybench.energy.lpm01a_sim --signals FIFO   # prints the pty path, serves until ^C
"""
from __future__ import annotations

import os
import select
import time
from dataclasses import dataclass, field
from typing import Callable

from tinybench.energy.lpm01a import (COMPLETED, FREQ_ARGUMENT, PROMPT, VOLTAGE_RANGE_MV,
                                     format_sample)
from tinybench.energy.power_model import PowerModel
from tinybench.energy.pty_device import PtyDevice, serve_until_interrupted

BOARD_ID = "SIMULATED-LPM01A"
FIRMWARE_VERSION = "1.0.7-sim"
OUTPUT_LAG_NS = 40_000_000
"""Samples are sent this long after their period ends, so that a DUT report that arrives a little
late still lands in the right place of the stream."""
TICK_SECONDS = 0.005


@dataclass
class Faults:
    still_streaming: bool = False        # boots in an acquisition an earlier run never stopped
    stale_lines: list[str] = field(default_factory=list)  # sent before the first answer
    drop_samples: set[int] = field(default_factory=set)   # sample numbers (from start) not sent
    garble_samples: set[int] = field(default_factory=set)  # sample numbers sent damaged
    drop_events: set[int] = field(default_factory=set)     # event counters not sent
    ignore: dict[str, int] = field(default_factory=dict)   # command word -> times to ignore it


class Lpm01aSimulator(PtyDevice):
    """The simulator. start() serves in a background thread; `port` is the path to open."""

    thread_name = "lpm01a-sim"

    def __init__(self, model: PowerModel, faults: Faults | None = None,
                 sync: Callable[[], None] | None = None, log: Callable[[str], None] | None = None):
        super().__init__()
        self.model = model
        self.faults = faults or Faults()
        self.sync = sync or (lambda: None)   # called before each batch of samples (DutSignals.sync)
        self.log = log or (lambda line: None)
        os.set_blocking(self._master, False)
        self._ignored: dict[str, int] = {}
        self.commands_seen: list[str] = []
        # Board state.
        self.host_control = False
        self.settings = {"volt": "3300m", "freq": "100", "output": "current",
                         "format": "ascii_dec", "acqtime": "10", "trigsrc": "sw",
                         "trigdelay": "1m", "eventsrc": "", "pwr": "auto"}
        self.powered = False
        self.acquiring = False
        self._acq_start_ns = 0
        self._rate = 1000
        self._sent = 0          # sample periods streamed in this acquisition
        self._events = 0        # event counter
        self._stale_pending = bool(self.faults.stale_lines)
        if self.faults.still_streaming:     # as an earlier run, under host control, left it
            self.host_control = True
            self.settings.update(output="energy", freq="1k", acqtime="inf")
            self._begin_acquisition(event_counter=7)

    # -- serving ---------------------------------------------------------------------------------
    def _send(self, text: str) -> None:
        data = text.encode("ascii")
        while data:
            try:
                n = os.write(self._master, data)
            except BlockingIOError:   # nobody reads: wait, as a real board's buffer fills
                if self._stop.is_set():
                    return
                time.sleep(0.001)
                continue
            except OSError:
                return
            data = data[n:]

    def _line(self, text: str) -> None:
        self._send(text + "\r\n")

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], TICK_SECONDS)
            except (OSError, ValueError):
                return
            if ready:
                try:
                    chunk = os.read(self._master, 4096)
                except BlockingIOError:
                    chunk = b""
                except OSError:
                    return
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    command = raw.decode("ascii", "replace").strip("\r\0 ")
                    if command:
                        self._handle(command)
            if self.acquiring:
                self._stream()

    # -- streaming -------------------------------------------------------------------------------
    def _begin_acquisition(self, event_counter: int = 0) -> None:
        self._rate = next((r for r, a in FREQ_ARGUMENT.items() if a == self.settings["freq"]), 1000)
        self._acq_start_ns = time.monotonic_ns()
        self._sent = 0
        self._events = event_counter
        self._pulses_sent = 0      # pulses of this acquisition already streamed
        self.late_pulses = 0       # pulses reported after their place in the stream had passed
        self.acquiring = True

    def _stream(self) -> None:
        """Send every sample period that ended more than OUTPUT_LAG_NS ago, each preceded by the
        events that happened in it and followed, every `rate` samples, by a TimeStamp line."""
        period_ns = 1e9 / self._rate
        due = int((time.monotonic_ns() - OUTPUT_LAG_NS - self._acq_start_ns) / period_ns)
        if due <= self._sent:
            return
        self.sync()
        start = self._acq_start_ns
        energies = self.model.bin_energies(start, self._rate, self._sent, due - self._sent)
        # Every pulse of this acquisition not streamed yet, including one the DUT reported too
        # late for its own sample period: it goes out now, a little late, never dropped.
        pulses = self.model.pulses_between(start, start + int(due * period_ns))[self._pulses_sent:]
        self._pulses_sent += len(pulses)
        self.late_pulses += sum(1 for t in pulses if t < start + self._sent * period_ns)
        out = []
        for k, energy in zip(range(self._sent, due), energies):
            period_end = start + int((k + 1) * period_ns)
            while pulses and pulses[0] < period_end:
                pulses.pop(0)
                if self._events not in self.faults.drop_events:
                    out.append(f"event {self._events} ris")
                self._events += 1
            if k in self.faults.garble_samples:
                out.append(format_sample(energy)[:4] + "?" + format_sample(energy)[5:])
            elif k not in self.faults.drop_samples:
                out.append(format_sample(energy))
            if (k + 1) % self._rate == 0:
                seconds = (k + 1) // self._rate
                out.append(f"TimeStamp: {seconds:03d}s {0:03d}ms, buff 00%")
        self._sent = due
        self._send("".join(line + "\r\n" for line in out))

    # -- commands ----------------------------------------------------------------------------------
    def _ack(self, command: str, output: str = "") -> None:
        self._line(f"{PROMPT}ack {command}" + (f" {output}" if output else ""))

    def _error(self, command: str, detail: str) -> None:
        self._line(f"{PROMPT}error {command}")
        self._line(f"Error detail: {detail}")

    def _handle(self, command: str) -> None:
        self.commands_seen.append(command)
        self.log(f"lpm01a-sim < {command}")
        word, _, argument = command.partition(" ")
        if self._ignored.get(word, 0) < self.faults.ignore.get(word, 0):
            self._ignored[word] = self._ignored.get(word, 0) + 1
            return
        if self._stale_pending:
            self._stale_pending = False
            for line in self.faults.stale_lines:
                self._line(line)
        if word in ("powershield", "version", "status", "help", "echo", "htc"):
            self._common(word, command, argument)
        elif not self.host_control:
            self._error(command, "the board is in standalone mode: send htc first")
        elif word == "hrc":
            self.host_control = False
            self._ack(command)
        elif word == "lcd":
            line, _, text = argument.partition(" ")
            if line not in ("1", "2") or not (len(text) >= 2 and text[0] == text[-1] == '"'
                                              and len(text) - 2 <= 16):
                self._error(command, 'usage: lcd <1|2> "<at most 16 characters>"')
            else:
                self._ack(command)
        elif word == "start":
            self._start(command)
        elif word == "stop":
            if self.acquiring:
                self.acquiring = False
                self._ack(command)
                self._line(f"{PROMPT}{COMPLETED}")
            else:
                self._error(command, "no acquisition in progress")
        elif self.acquiring and word != "pwr":
            self._error(command, "acquisition in progress: send stop first")
        elif word in self.settings:
            self._setting(word, command, argument)
        else:
            self._error(command, f"unknown command '{word}'")

    def _common(self, word: str, command: str, argument: str) -> None:
        if word == "powershield":
            self._ack(command, f"PowerShield present {BOARD_ID}")
        elif word == "version":
            self._ack(command, FIRMWARE_VERSION)
        elif word == "status":
            self._ack(command, "ok")
        elif word == "echo":
            self._ack(command, argument)
        elif word == "help":
            self._ack(command)
            self._line("simulated PowerShield: " + ", ".join(sorted(self.settings)))
        elif word == "htc":
            self.host_control = True
            self._ack(command)

    def _setting(self, word: str, command: str, argument: str) -> None:
        valid = {
            "freq": lambda a: a in FREQ_ARGUMENT.values(),
            "output": lambda a: a in ("current", "energy"),
            "format": lambda a: a in ("ascii_dec", "bin_hexa"),
            "acqtime": lambda a: bool(a),
            "trigsrc": lambda a: a in ("sw", "d7"),
            "trigdelay": lambda a: bool(a),
            "eventsrc": lambda a: a in ("d7 ris", "d7 fal"),
            "pwr": lambda a: a in ("on", "off", "auto", "on nostatus", "off nostatus", "get"),
            "volt": _valid_voltage,
        }[word]
        if not valid(argument):
            self._error(command, f"invalid argument '{argument}'")
            return
        if word == "pwr":
            if argument == "get":
                self._ack(command, "on" if self.powered else "off")
                return
            self.powered = argument.startswith("on")
        self.settings[word] = argument
        self._ack(command)

    def _start(self, command: str) -> None:
        if self.acquiring:
            self._error(command, "acquisition already in progress")
        elif self.settings["output"] != "energy" or self.settings["format"] != "ascii_dec":
            self._error(command, "this simulator streams only 'output energy' in 'format ascii_dec'")
        else:
            self._ack(command)
            self.powered = True
            self._begin_acquisition()


def _valid_voltage(argument: str) -> bool:
    if not (argument.endswith("m") and argument[:-1].isdigit()):
        return False
    low, high = VOLTAGE_RANGE_MV
    return low <= int(argument[:-1]) <= high


def main(argv: list[str] | None = None) -> int:
    """Serve a simulated LPM01A on a new pty until interrupted."""
    import argparse

    from tinybench.energy.dut_signals import DutSignals
    from tinybench.energy.power_model import PROFILES, profile_for_board

    parser = argparse.ArgumentParser(prog="python -m tinybench.energy.lpm01a_sim")
    parser.add_argument("--board", default=None, help=f"power profile: {', '.join(PROFILES)}")
    args = parser.parse_args(argv)
    model = PowerModel(profile_for_board(args.board))
    with DutSignals(model.record) as signals, Lpm01aSimulator(model, sync=signals.sync) as sim:
        print(f"simulated LPM01A on {sim.port}")
        print(f"start the host DUT with: --signals {signals.path}", flush=True)
        serve_until_interrupted()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
