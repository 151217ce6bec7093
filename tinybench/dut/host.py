"""Starting and stopping the host-board DUT (firmware/boards/host): a native program that serves
the protocol on a pseudo-terminal and prints the terminal's path."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path

from tinybench.errors import UserError

START_TIMEOUT = 10.0


class HostDut:
    """A running host DUT. Use as a context manager, or call start() and stop().

        with HostDut(program) as dut:
            ...open dut.port with pyserial...
    """

    instructions_per_us = None
    """The host board's clock is real time, not an instruction count (see QemuDut)."""

    def __init__(self, program: Path, arguments: tuple[str, ...] = ()):
        self.program = Path(program)
        self.arguments = list(arguments)    # more options, e.g. --signals FIFO
        self.process: subprocess.Popen | None = None
        self.port: str | None = None

    def start(self) -> str:
        if not self.program.is_file():
            raise UserError(f"{self.program}: no host DUT program here; build it first")
        # stdin stays a pipe from us: the DUT exits when it closes, so it never outlives us.
        self.process = subprocess.Popen([str(self.program), "--pty", "--exit-with-stdin",
                                         *self.arguments],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT)
        line = self.process.stdout.readline().decode(errors="replace").strip() if ready else ""
        if not line.startswith("/"):
            self.stop()
            error = self.process.stderr.read().decode(errors="replace").strip()
            raise UserError(f"the host DUT {self.program} did not start: "
                            f"{error or 'it printed no pseudo-terminal path'}")
        self.port = line
        return line

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def reset(self) -> None:
        """Restart the emulated board as a reset would (SIGUSR1): it forgets its state and prints
        its boot banner on the port."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGUSR1)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if not self.process:
            return
        if self.process.poll() is None:
            try:
                self.process.stdin.close()   # the DUT exits at the end of its stdin
            except OSError:
                pass
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                end_process(self.process, 2)
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> "HostDut":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def end_process(process: subprocess.Popen, grace: float) -> None:
    """Ask a process to end (SIGTERM), and kill it if it has not within `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_closed(dut: HostDut, poll: float = 0.5) -> None:
    """Block until the DUT exits (or the user interrupts)."""
    while dut.running():
        time.sleep(poll)
