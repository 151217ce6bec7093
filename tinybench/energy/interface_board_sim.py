"""A simulated interface board on a pseudo-terminal, forwarding to a DUT port (SPEC 2.9).

The host side speaks the board's protocol (`dut <cmd>%` pass-through, `name`, `setbaud`,
`checkbaud`); the DUT side is any port pyserial opens (the host DUT's pty, for instance). A DUT
answer is relayed line by line with the `[dut]: ` prefix, up to and including its `m-ready`.

    python -m tinybench.energy.interface_board_sim DUT_PORT   # prints the pty path
"""
from __future__ import annotations

import os
import select
import time
from typing import Callable

import serial

from tinybench.energy.interface_board import BOARD_NAME, DUT_PREFIX
from tinybench.energy.pty_device import PtyDevice, serve_until_interrupted

DEFAULT_DUT_BAUD = 9600
DUT_ANSWER_TIMEOUT = 60.0


class InterfaceBoardSimulator(PtyDevice):
    thread_name = "interface-board-sim"

    def __init__(self, dut_port: str, dut_baud: int = DEFAULT_DUT_BAUD,
                 log: Callable[[str], None] | None = None):
        self.log = log or (lambda line: None)
        self.dut_baud = dut_baud
        self.dut = serial.serial_for_url(dut_port, baudrate=dut_baud, timeout=0.05)
        self.dut.reset_input_buffer()
        super().__init__()

    def close(self) -> None:
        super().close()
        self.dut.close()

    def _line(self, text: str) -> None:
        os.write(self._master, text.encode("utf-8") + b"\r\n")

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                pending += os.read(self._master, 4096)
            except OSError:
                return
            while b"%" in pending:
                raw, pending = pending.split(b"%", 1)
                self._handle(raw.decode("ascii", "replace").strip("\r\n\0"))

    def _handle(self, command: str) -> None:
        self.log(f"board-sim < {command}")
        word, _, argument = command.partition(" ")
        if word == "dut":
            self._line(f"m-dut-passthrough({argument})")
            self._line("m-ready")
            self._relay(argument)
        elif word == "name":
            self._line(BOARD_NAME)
            self._line("m-ready")
        elif word == "checkbaud":
            self._line(f"baud is: {self.dut_baud}")
            self._line("m-ready")
        elif word == "setbaud" and argument.isdigit():
            self.dut_baud = int(argument)     # stored, then the board resets: no answer
            self.dut.baudrate = self.dut_baud
        else:
            self._line("m-ready")

    def _relay(self, command: str) -> None:
        self.dut.write(command.encode("ascii") + b"%")
        self.dut.flush()
        pending = b""
        deadline = time.monotonic() + DUT_ANSWER_TIMEOUT
        while time.monotonic() < deadline and not self._stop.is_set():
            pending += self.dut.read(self.dut.in_waiting or 1)
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                line = raw.replace(b"\r", b"").decode("utf-8", "replace")
                self._line(DUT_PREFIX + line)
                if line.strip() == "m-ready":
                    return
        self.log(f"board-sim: no m-ready from the DUT for '{command}'")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tinybench.energy.interface_board_sim")
    parser.add_argument("dut_port")
    parser.add_argument("--dut-baud", type=int, default=DEFAULT_DUT_BAUD)
    args = parser.parse_args(argv)
    with InterfaceBoardSimulator(args.dut_port, args.dut_baud) as board:
        print(f"simulated interface board on {board.port}", flush=True)
        serve_until_interrupted()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
