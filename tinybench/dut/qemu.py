"""Starting and stopping the firmware for board qemu-an386 under QEMU (a Cortex-M4F on machine
mps2-an386). The UART is a TCP socket on localhost; the DUT's port is its pyserial URL.

QEMU runs with `-icount shift=0`: every instruction advances virtual time by exactly 1 ns, so the
SysTick microseconds the firmware reports are instruction counts / 1000, the same on every run.
"""
from __future__ import annotations

import ctypes
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tinybench.dut.host import end_process
from tinybench.errors import UserError

START_TIMEOUT = 10.0
QEMU = "qemu-system-arm"
MACHINE = ["-M", "mps2-an386", "-cpu", "cortex-m4", "-icount", "shift=0", "-display", "none",
           "-monitor", "none"]
"""The emulated board, with one virtual nanosecond per instruction, and no screen or monitor."""
INSTRUCTIONS_PER_US = 1000
"""Under -icount shift=0 one virtual microsecond is 1000 instructions."""


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: ask the kernel to end QEMU when its launcher dies."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class QemuDut:
    """A running emulated Cortex-M4 DUT. Same interface as tinybench.dut.host.HostDut."""

    instructions_per_us = INSTRUCTIONS_PER_US

    def __init__(self, image: Path):
        self.image = Path(image)
        self.process: subprocess.Popen | None = None
        self.port: str | None = None
        self._folder: tempfile.TemporaryDirectory | None = None

    def command(self, tcp_port: int, qmp_path: Path) -> list[str]:
        return [QEMU, *MACHINE, "-kernel", str(self.image),
                "-chardev", f"socket,id=uart0,host=127.0.0.1,port={tcp_port},server=on,"
                            "wait=on,nodelay=on",
                "-serial", "chardev:uart0",
                "-qmp", f"unix:{qmp_path},server=on,wait=off"]

    def start(self) -> str:
        if not self.image.is_file():
            raise UserError(f"{self.image}: no firmware image here; build it first")
        if shutil.which(QEMU) is None:
            raise UserError(f"{QEMU} was not found: install the Debian package qemu-system-arm "
                            f"(make install does it as root)")
        self._folder = tempfile.TemporaryDirectory(prefix="tb-qemu-")
        self._qmp = Path(self._folder.name) / "qmp.sock"
        tcp_port = _free_tcp_port()
        self.process = subprocess.Popen(self.command(tcp_port, self._qmp),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        try:
            self._read_boot_banner(tcp_port)
        except UserError:
            self.stop()
            raise
        self.port = f"socket://127.0.0.1:{tcp_port}"
        return self.port

    def _read_boot_banner(self, tcp_port: int) -> None:
        """Connect once, read the firmware's boot banner, disconnect. QEMU (wait=on) starts the
        guest only when this first client connects, so the banner always arrives here: a real
        board's banner is gone before the host opens the port, and the runner must not read it
        as the answer to its first command."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace").strip()
                raise UserError(f"QEMU did not start the firmware {self.image}: {error}")
            try:
                uart = socket.create_connection(("127.0.0.1", tcp_port), timeout=0.5)
            except OSError:
                time.sleep(0.05)
                continue
            with uart:
                received = b""
                while b"m-ready" not in received and time.monotonic() < deadline:
                    try:
                        received += uart.recv(256)
                    except socket.timeout:
                        continue
                if b"m-init-done" in received:
                    return
            raise UserError(f"the firmware {self.image} did not boot under QEMU (its UART said "
                            f"{received[-200:]!r})")
        raise UserError(f"QEMU did not open the board's UART within {START_TIMEOUT:g} s")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def reset(self) -> None:
        """Reset the emulated board (QMP system_reset): it reboots and prints its banner."""
        with socket.socket(socket.AF_UNIX) as qmp:
            qmp.settimeout(START_TIMEOUT)
            qmp.connect(str(self._qmp))
            reader = qmp.makefile("rb")
            reader.readline()  # greeting
            for command in ("qmp_capabilities", "system_reset"):
                qmp.sendall(json.dumps({"execute": command}).encode() + b"\n")
                while b'"return"' not in reader.readline():
                    pass

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process:
            end_process(self.process, 5)
            for stream in (self.process.stdout, self.process.stderr):
                if stream:
                    stream.close()
        if self._folder:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> "QemuDut":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
