"""What the simulated instruments (lpm01a_sim.py, interface_board_sim.py) share: a raw
pseudo-terminal whose path clients open as a serial port, served by a background thread."""
from __future__ import annotations

import os
import threading
import time
import tty


class PtyDevice:
    """start() runs _serve() in a background thread, which reads the pty's `_master` end until
    `_stop` is set; `port` is the path of the other end, the one a client opens."""

    thread_name = "pty-device"

    def __init__(self):
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _serve(self) -> None:
        raise NotImplementedError

    def start(self):
        self._thread = threading.Thread(target=self._serve, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def serve_until_interrupted() -> None:
    """Keep a command-line simulator's process alive (its device serves in a thread) until ^C."""
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
