"""The host side of the MLPerf Tiny DUT protocol (SPEC section 1).

A command is sent as its text followed by `%` (no newline); the DUT answers with lines ending in a
line `m-ready`. DutClient sends one command at a time, reads the whole answer, checks that it holds
exactly the lines that command produces, and raises a DutError subclass when it does not:

    DutTimeout   no complete answer within the time allowed
    DutRefused   the DUT answered with an e-[...] error line
    DutGarbled   a line that cannot be decoded, or is not what the command produces
    DutReset     a boot banner (m-timestamp-mode-..., m-init-done): the board restarted

Lines that start with neither `m-` nor `e-` are free text (help, vendor diagnostics): they are
logged and otherwise ignored, as the official runner ignores them. Every line sent and received
goes to the `log` callback.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

from tinybench.dut.transport import pop_line

READY = "m-ready"
BOOT_LINES = ("m-timestamp-mode-", "m-init-done")
OFFICIAL_CHUNK_BYTES = 31
"""Bytes per `db <hex>` command the official runner sends to a DUT on a direct serial line: 62 hex
digits, a 65-character command that fits the reference firmware's 80-character buffer."""
TIMESTAMP_WRAP = 1 << 32
"""DUT microsecond counters may be 32 bits wide; one wrap inside a window is allowed for."""

_RESULTS = re.compile(r"^m-results-\[([^\]]*)\]$")
_LAP = re.compile(r"^m-lap-us-(\d+)$")
_NAME = re.compile(r"^m-name-(.+?)-\[(.*)\]$")
_PROFILE = re.compile(r"^m-profile-\[(.*)\]$")
_MODEL = re.compile(r"^m-model-\[(.*)\]$")


class DutError(Exception):
    """A failed exchange with the DUT. The message names the command."""


class DutTimeout(DutError):
    pass


class DutRefused(DutError):
    pass


class DutGarbled(DutError):
    pass


class DutReset(DutError):
    pass


@dataclass
class InferResult:
    results: list[float]
    start_time: int      # m-lap-us values, microseconds on the DUT's clock
    end_time: int
    iterations: int
    warmups: int

    @property
    def elapsed_time(self) -> int:
        return (self.end_time - self.start_time) % TIMESTAMP_WRAP

    def as_dict(self) -> dict:
        """The `infer` record of the official runner's results.json."""
        out = dict(results=self.results, start_time=self.start_time, end_time=self.end_time,
                   elapsed_time=self.elapsed_time, total_inferences=len(self.results),
                   iterations=self.iterations, warmups=self.warmups)
        if self.elapsed_time > 0:
            out["throughput"] = self.iterations / (self.elapsed_time / 1e6)
        return out


def parse_results(line: str) -> list[float] | None:
    """The values of an m-results-[...] line (empty fields skipped, as the official runner does),
    or None when the line is not one."""
    match = _RESULTS.match(line)
    if not match:
        return None
    try:
        return [float(x) for x in match.group(1).split(",") if x.strip()]
    except ValueError:
        return None


class DutClient:
    """Talks the DUT protocol over an open pyserial port (see transport.open_port)."""

    def __init__(self, port, log: Callable[[str], None] | None = None,
                 line_timeout: float = 5.0):
        self.port = port
        self.log = log or (lambda line: None)
        self.line_timeout = line_timeout
        self._pending = bytearray()
        self.bytes_sent = 0
        self.seconds_by_command: dict[str, float] = {}   # round-trip time per command word

    @property
    def exchange_seconds(self) -> float:
        """Time spent in command round trips, from sending to the last line of the answer."""
        return sum(self.seconds_by_command.values())

    def _account(self, text: str, started: float) -> None:
        word = text.split(" ", 1)[0]
        self.seconds_by_command[word] = self.seconds_by_command.get(word, 0.0) + \
            time.monotonic() - started

    # -- the wire ---------------------------------------------------------------------------
    def _write(self, text: str) -> None:
        self.log(f"> {text}%")
        data = text.encode("ascii") + b"%"
        self.port.write(data)   # pyserial writes straight through: no flush (tcdrain) needed
        self.bytes_sent += len(data)

    def _read_line(self, deadline: float) -> str | None:
        """One line without its line end, or None at the deadline."""
        while True:
            line = pop_line(self._pending)
            if line is not None:
                return line
            if time.monotonic() >= deadline:
                return None
            chunk = self.port.read(self.port.in_waiting or 1)
            if chunk:
                self._pending += chunk

    def drain(self, quiet: float = 0.1, limit: float = 2.0) -> None:
        """Read and log whatever arrives until the line has been quiet for `quiet` seconds."""
        stop = time.monotonic() + limit
        last = time.monotonic()
        while time.monotonic() < stop and time.monotonic() - last < quiet:
            chunk = self.port.read(self.port.in_waiting or 1)
            if chunk:
                self._pending += chunk
                last = time.monotonic()
        for line in bytes(self._pending).split(b"\n"):
            if line.strip():
                self.log(f"< {line.decode('utf-8', 'replace').rstrip()}  (discarded)")
        self._pending.clear()

    # -- one command ------------------------------------------------------------------------
    def command(self, text: str, timeout: float | None = None) -> list[str]:
        """Send one command and return the m-/e- lines of its answer (before m-ready). The
        timeout applies to each line (the wait for a long `infer` is set by the caller)."""
        started = time.monotonic()
        self._write(text)
        lines, reset, garbled, refused = [], False, None, None
        per_line = self.line_timeout if timeout is None else timeout
        while True:
            line = self._read_line(time.monotonic() + per_line)
            if line is None:
                self._account(text, started)
                got = f" (got {len(lines)} line(s) first)" if lines else ""
                raise DutTimeout(f"no answer to '{text}' within {per_line:.3g} s{got}")
            self.log(f"< {line}")
            if line == READY:
                break
            if "\ufffd" in line:
                garbled = garbled or line
            elif line.startswith(BOOT_LINES):
                reset = True
            elif line.startswith("e-"):
                refused = refused or line
            elif line.startswith("m-"):
                lines.append(line)
        self._account(text, started)
        if reset:
            raise DutReset(f"the DUT restarted (boot banner in the answer to '{text}')")
        if garbled:
            raise DutGarbled(f"garbled line in the answer to '{text}': {garbled!r}")
        if refused:
            raise DutRefused(f"the DUT refused '{text}': {refused}")
        return lines

    @staticmethod
    def _expect(text: str, lines: list[str], patterns: list[re.Pattern | str]) -> list[re.Match | str]:
        """Check the answer line by line against exact strings or patterns."""
        if len(lines) != len(patterns):
            raise DutGarbled(f"unexpected answer to '{text}': {lines!r}")
        found = []
        for line, pattern in zip(lines, patterns):
            match = pattern.match(line) if isinstance(pattern, re.Pattern) else (line == pattern and line)
            if not match:
                raise DutGarbled(f"unexpected line in the answer to '{text}': {line!r}")
            found.append(match)
        return found

    # -- the protocol -----------------------------------------------------------------------
    def name(self) -> tuple[str, str]:
        """(device, vendor) of m-name-<device>-[<vendor>]."""
        (match,) = self._expect("name", self.command("name"), [_NAME])
        return match.group(1), match.group(2)

    def profile(self) -> tuple[str, str]:
        """(profile, model) of m-profile-[...] and m-model-[...]."""
        profile, model = self._expect("profile", self.command("profile"), [_PROFILE, _MODEL])
        return profile.group(1), model.group(1)

    def timestamp(self) -> int:
        (match,) = self._expect("timestamp", self.command("timestamp"), [_LAP])
        return int(match.group(1))

    def load(self, data: bytes, chunk_bytes: int = OFFICIAL_CHUNK_BYTES) -> None:
        """`db load N`, then `db <hex>` chunks; the last chunk must bring m-load-done."""
        size = len(data)
        self._expect("db load", self.command(f"db load {size}"), [f"m-[Expecting {size} bytes]"])
        for start in range(0, size, chunk_bytes):
            text = f"db {data[start:start + chunk_bytes].hex()}"
            last = start + chunk_bytes >= size
            self._expect(text, self.command(text), ["m-load-done"] if last else [])

    def infer(self, iterations: int, warmups: int, timeout: float | None = None) -> InferResult:
        text = f"infer {iterations} {warmups}"
        lines = self.command(text, timeout)
        found = self._expect(text, lines, [
            f"m-warmup-start-{warmups}", "m-warmup-done", f"m-infer-start-{iterations}",
            _LAP, _LAP, "m-infer-done", _RESULTS])
        results = parse_results(lines[-1])
        if results is None:
            raise DutGarbled(f"unreadable results in the answer to '{text}': {lines[-1]!r}")
        return InferResult(results, int(found[3].group(1)), int(found[4].group(1)), iterations,
                           warmups)

    def results(self) -> list[float]:
        lines = self.command("results")
        values = parse_results(lines[0]) if len(lines) == 1 else None
        if values is None:
            raise DutGarbled(f"unexpected answer to 'results': {lines!r}")
        return values

    def resync(self, timeout: float = 10.0) -> None:
        """After a failed exchange: drop whatever is in flight, then send `name` and read up to
        its answer, so that the next command's answer is its own. Raises DutTimeout when the DUT
        does not answer."""
        self.drain()
        self._write("name")
        deadline = time.monotonic() + timeout
        seen_name = False
        while True:
            line = self._read_line(deadline)
            if line is None:
                raise DutTimeout(f"no answer to 'name' within {timeout:g} s while resynchronising")
            self.log(f"< {line}")
            if line.startswith("m-name-"):
                seen_name = True
            elif line == READY and seen_name:
                return
