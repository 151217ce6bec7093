"""The interface board between the host and a DUT in energy mode (SPEC 2.9).

In energy mode the DUT's own USB is off (it would feed it power the monitor cannot see): the host
talks to an interface board (STM32H573I-DK, or an Arduino), which talks to the DUT's UART at the
energy-mode baud rate. Board commands end with `%` and answers end with `m-ready`. The one that
matters here:

    dut <cmd>%   ->  m-dut-passthrough(<cmd>)       the board's own answer, 2 lines
                     m-ready
                     [dut]: <each DUT line>         the DUT's answer, relayed line by line,
                     [dut]: m-ready                 up to and including the DUT's m-ready

plus `name`, `setbaud <n>` (stored in the board's flash; the board resets) and `checkbaud`
(`baud is: <n>`).

PassthroughPort wraps the board's serial port so that it behaves like the DUT's own: writing
`<cmd>%` sends `dut <cmd>%`, and reading gives the DUT's lines with the `[dut]: ` prefix and the
board's own answer removed. The DUT protocol client then runs through the board unchanged.
"""
from __future__ import annotations

import re
import threading
import time
from typing import Callable

import serial

from tinybench.dut.transport import pop_line
from tinybench.errors import UserError

HOST_BAUD = 115200
DUT_PREFIX = "[dut]: "
BOARD_NAME = "tinyML Enhanced Interface Board"
CHUNK_BYTES = 26
"""Bytes per `db <hex>` command through the board (the official runner's choice when a power
monitor is in use): `dut db <52 hex digits>` stays well inside the buffers on the way."""

_PASSTHROUGH = re.compile(r"^m-dut-passthrough\((.*)\)$")
_BAUD = re.compile(r"^baud is:\s*(\d+)$")


class InterfaceBoardError(UserError):
    pass


class InterfaceBoard:
    """The board's own commands over its serial port."""

    def __init__(self, port: str, baud: int = HOST_BAUD, log: Callable[[str], None] | None = None,
                 timeout: float = 5.0):
        self.port_name = port
        self.log = log or (lambda line: None)
        self.timeout = timeout
        try:
            self.port = serial.serial_for_url(port, baudrate=baud, timeout=0.05, write_timeout=5)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise UserError(f"cannot open the interface board port {port}: {exc}") from None
        self.port.reset_input_buffer()
        self._pending = bytearray()

    def write(self, text: str) -> None:
        self.log(f"board > {text}%")
        self.port.write(text.encode("ascii") + b"%")
        self.port.flush()

    def read_line(self, deadline: float) -> str | None:
        while True:
            line = pop_line(self._pending)
            if line is not None:
                return line
            waiting = self.port.in_waiting
            if waiting:
                self._pending += self.port.read(waiting)
                continue
            if time.monotonic() >= deadline:
                return None
            self._pending += self.port.read(1)   # waits up to the port's read timeout

    def command(self, text: str) -> list[str]:
        """A board command; the lines of its answer before m-ready."""
        self.write(text)
        lines = []
        deadline = time.monotonic() + self.timeout
        while True:
            line = self.read_line(deadline)
            if line is None:
                raise InterfaceBoardError(
                    f"the interface board on {self.port_name} did not answer '{text}' within "
                    f"{self.timeout:g} s: check the port and that the board runs the MLPerf Tiny "
                    f"interface firmware")
            self.log(f"board < {line}")
            if line.strip() == "m-ready":
                return lines
            if line.strip():
                lines.append(line.strip())

    def name(self) -> str:
        lines = self.command("name")
        return lines[0] if lines else ""

    def check_baud(self) -> int:
        for line in self.command("checkbaud"):
            match = _BAUD.match(line)
            if match:
                return int(match.group(1))
        raise InterfaceBoardError(f"the interface board did not report its DUT baud rate")

    def set_baud(self, baud: int, settle: float = 2.0) -> None:
        """Set the board's UART to the DUT (stored in its flash; the board resets), unless it
        already is at that rate."""
        if self.check_baud() == baud:
            return
        self.write(f"setbaud {baud}")
        time.sleep(settle)
        self.port.reset_input_buffer()
        self._pending.clear()
        if self.check_baud() != baud:
            raise InterfaceBoardError(f"the interface board did not take the DUT baud rate {baud}")

    def passthrough(self) -> "PassthroughPort":
        return PassthroughPort(self)

    def close(self) -> None:
        self.port.close()


class PassthroughPort:
    """A pyserial-like port to the DUT behind the interface board (see the module docstring).
    Only what the DUT protocol client uses is provided: write, flush, read, in_waiting,
    reset_input_buffer, close."""

    def __init__(self, board: InterfaceBoard):
        self.board = board
        self._out = bytearray()         # DUT bytes ready to be read
        self._lock = threading.Lock()
        self._sent: list[str] = []      # commands whose board answer is still due

    # -- writing --------------------------------------------------------------------------------
    def write(self, data: bytes) -> int:
        text = data.decode("ascii")
        for command in text.split("%")[:-1]:
            self._sent.append(command)
            self.board.write(f"dut {command}")
        return len(data)

    def flush(self) -> None:
        self.board.port.flush()

    # -- reading --------------------------------------------------------------------------------
    def _pump(self, wait: float) -> None:
        """Move whatever the board sent into the DUT byte buffer, unwrapping it."""
        deadline = time.monotonic() + wait
        while True:
            line = self.board.read_line(deadline)
            if line is None:
                return
            self._take(line)
            deadline = time.monotonic()   # after one line, only what is already there

    def _take(self, line: str) -> None:
        stripped = line.strip()
        self.board.log(f"board < {line}")
        if line.startswith(DUT_PREFIX):
            self._out += line[len(DUT_PREFIX):].encode("utf-8") + b"\r\n"
            return
        match = _PASSTHROUGH.match(stripped)
        if match:
            expected = self._sent.pop(0) if self._sent else None
            if match.group(1) != expected:
                self.board.log(f"board: that passthrough is of {match.group(1)!r}, "
                               f"expected {expected!r}")
                # Hand the DUT client a line it will refuse, rather than a silent mix-up.
                self._out += f"e-[interface board relayed {match.group(1)!r}]\r\n".encode()
            return
        if stripped == "m-ready" or not stripped:
            return      # the board's own end of answer
        self.board.log("board: (a message of the board's own, ignored)")

    @property
    def in_waiting(self) -> int:
        if not self._out:
            self._pump(0)
        return len(self._out)

    def read(self, size: int = 1) -> bytes:
        if not self._out:
            self._pump(0.05)
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def reset_input_buffer(self) -> None:
        self._pump(0)
        self._out.clear()

    def close(self) -> None:
        self.board.close()
