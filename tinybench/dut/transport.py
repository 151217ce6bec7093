"""Opening the serial line to a DUT: a device path (/dev/ttyACM0, /dev/pts/5, COM3) or any
pyserial URL (socket://127.0.0.1:5555, loop://, rfc2217://...)."""
from __future__ import annotations

import serial

from tinybench.errors import UserError

READ_POLL_SECONDS = 0.05
"""How long one read waits at most; callers loop until their own deadline."""


def open_port(port: str, baud: int):
    """An open pyserial port. The input buffer is flushed on opening, so whatever a board printed
    before the host connected is never taken for an answer."""
    try:
        handle = serial.serial_for_url(port, baudrate=baud, timeout=READ_POLL_SECONDS,
                                       write_timeout=10)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise UserError(f"cannot open the DUT port {port}: {exc}") from None
    handle.reset_input_buffer()
    return handle


def pop_line(pending: bytearray) -> str | None:
    """The first complete line in `pending`, taken out of it, without its line end, carriage
    returns and NUL bytes; None while no line end has arrived."""
    end = pending.find(b"\n")
    if end < 0:
        return None
    raw = bytes(pending[:end])
    del pending[:end + 1]
    return raw.replace(b"\r", b"").replace(b"\0", b"").decode("utf-8", "replace")
