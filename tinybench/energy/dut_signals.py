"""How the host-board DUT tells a simulated power monitor what a real one would measure.

A real board pulls its timestamp pin low and draws current; the host board (a POSIX program) has
neither, so in energy mode it reports both on a FIFO named on its command line
(`dut --pty --signals PATH`), one line per change:

    ts <ns>      a timestamp pulse (the falling edge a monitor counts)
    busy <ns>    the DUT started working on received bytes (a command, an inference)
    idle <ns>    it went back to waiting for the host

<ns> is CLOCK_MONOTONIC in nanoseconds, taken at the moment of the change, so the reader's delay
does not matter. The FIFO is created and opened for reading here before the DUT starts; the DUT
opens it for writing without blocking (and refuses to start if nobody reads).
"""
from __future__ import annotations

import os
import select
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable

from tinybench.errors import UserError

KINDS = ("ts", "busy", "idle")


class DutSignals:
    """The reading end of the FIFO. A background thread keeps it drained (a DUT must never block
    on a full FIFO) and hands each report to `sink(kind, t_ns)`; sync() returns once everything
    the DUT has written so far has been handed over."""

    def __init__(self, sink: Callable[[str, int], None], log: Callable[[str], None] | None = None):
        self.sink = sink
        self.log = log or (lambda line: None)
        self._dir = Path(tempfile.mkdtemp(prefix="tinybench-signals-"))
        self.path = self._dir / "dut-signals"
        os.mkfifo(self.path)
        self._read_fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        # Our own writer keeps the FIFO from reading as end-of-file while no DUT has it open.
        self._keep_open_fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        self._pending = b""
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.reports = 0
        self.bad_lines = 0
        self._thread = threading.Thread(target=self._run, name="dut-signals", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        with self._lock:
            while True:
                try:
                    chunk = os.read(self._read_fd, 65536)
                except BlockingIOError:
                    break
                except OSError:
                    return
                if not chunk:
                    break
                self._pending += chunk
            *lines, self._pending = self._pending.split(b"\n")
            for raw in lines:
                self._handle(raw.decode("ascii", "replace").strip())

    def _handle(self, line: str) -> None:
        parts = line.split()
        if len(parts) == 2 and parts[0] in KINDS and parts[1].isdigit():
            self.reports += 1
            self.sink(parts[0], int(parts[1]))
        elif line:
            self.bad_lines += 1
            self.log(f"dut signals: unreadable report {line!r} ignored")

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                ready, _, _ = select.select([self._read_fd], [], [], 0.1)
            except (OSError, ValueError):
                return
            if ready and not self._closed.is_set():
                self._drain()

    def sync(self) -> None:
        """Hand over every report already written. A DUT writes a report before it sends the
        serial output that follows the change, so after reading that output, sync() sees it."""
        if not self._closed.is_set():
            self._drain()

    def dut_arguments(self) -> list[str]:
        """What to add to the host DUT's command line."""
        return ["--signals", str(self.path)]

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._thread.join(timeout=1)
        for fd in (self._read_fd, self._keep_open_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "DutSignals":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def require_fifo_support() -> None:
    if not hasattr(os, "mkfifo"):
        raise UserError("simulated power monitors need named pipes (Linux or macOS): "
                        "use a real monitor (--power lpm01a or --power joulescope) here")
