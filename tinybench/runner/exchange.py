"""Connecting to a DUT and running one step (load an input, infer) with bounded retries.

A step whose exchange fails is retried after resynchronising the line: up to MAX_ATTEMPTS times for
a timeout, a refused command or a garbled line, and once for a board reset (the input is sent
again, since a reset loses it). A step that still fails stops the run with a message saying what
went wrong; completed steps stay in the journal for --resume. No result is ever recorded for a step
whose exchange failed.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from tinybench import benchmarks
from tinybench.dut.protocol import (DutClient, DutError, DutGarbled, DutRefused, DutReset,
                                    DutTimeout)
from tinybench.dut.transport import open_port
from tinybench.errors import UserError

MAX_ATTEMPTS = 3
T = TypeVar("T")


def candidate_bauds(baud: int | None, benchmark: str | None) -> list[int]:
    """The baud rate to try: the one given, else the official defaults (the hinted benchmark's
    first), since the benchmark is only known once the DUT has answered."""
    if baud:
        return [baud]
    ordered = ([benchmarks.get(benchmark).baud_performance] if benchmark else []) + \
        [b.baud_performance for b in benchmarks.BENCHMARKS.values()]
    return list(dict.fromkeys(ordered))


def connect(port: str, baud: int | None, benchmark: str | None, log: Callable[[str], None],
            line_timeout: float, open_handle: Callable | None = None):
    """Open the port and identify the DUT. Returns (serial port, client, model string).
    open_handle(port, baud) replaces open_port (energy mode: the DUT behind an interface board)."""
    bauds = candidate_bauds(baud, benchmark)
    problems = []
    for rate in bauds:
        handle = (open_handle or open_port)(port, rate)
        client = DutClient(handle, log=log, line_timeout=line_timeout)
        log(f"connected to {port} at {rate} baud")
        for attempt in range(2):   # a second try clears bytes a wrong baud rate left behind
            try:
                client.drain(quiet=0.05)
                client.name()
                profile, model = client.profile()
                if profile != benchmarks.PROFILE_STRING:
                    log(f"note: profile {profile!r} is not {benchmarks.PROFILE_STRING!r}")
                return handle, client, model
            except DutError as exc:
                problems.append(f"{rate} baud: {exc}")
        handle.close()
    tried = ", ".join(str(b) for b in bauds)
    raise UserError(f"no MLPerf Tiny DUT answered on {port} at {tried} baud ({problems[-1]}): "
                    f"check the port, the baud rate (--baud) and that the firmware is running")


class StepRunner:
    """Runs steps against one DUT with the retry rules above."""

    def __init__(self, client: DutClient, warn: Callable[[str], None]):
        self.client = client
        self.warn = warn

    def run(self, what: str, step: Callable[[], T]) -> T:
        resync_timeout = max(2.0, 2 * self.client.line_timeout)
        last: DutError | None = None
        resets = 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return step()
            except DutReset as exc:
                resets += 1
                last = exc
                if resets > 1:
                    raise UserError(f"{what}: the DUT restarted twice on the same step; check "
                                    f"its power and watchdog, then rerun with --resume") from None
                self.warn(f"{what}: {exc}; sending the input again")
            except (DutTimeout, DutRefused, DutGarbled) as exc:
                last = exc
                if attempt < MAX_ATTEMPTS:
                    self.warn(f"{what}: {exc}; retrying ({attempt}/{MAX_ATTEMPTS - 1})")
            try:
                self.client.resync(resync_timeout)
            except DutTimeout as exc:
                raise UserError(f"{what}: {last}; the DUT no longer answers ({exc}). Check the "
                                f"board and its connection, then rerun with --resume") from None
        raise UserError(f"{what} failed {MAX_ATTEMPTS} times, last: {last}. Completed steps are "
                        f"kept: rerun with --resume") from None
