"""The DUT firmware's serial protocol, spoken directly over the host board's pseudo-terminal with
pyserial (as the official runner does): exact strings, the official runner's expectations (SPEC
2.3), and abuse that must never crash the DUT or leave it deaf."""
from __future__ import annotations

import re
import subprocess
import time

import numpy as np
import pytest
import serial

from tinybench.dut.host import HostDut

KWS_DB_BYTES = 490   # the kws01 db buffer (registry: db_buffer_bytes)


@pytest.fixture(scope="module")
def kws_program(host_dut_program):
    return host_dut_program("kws01")


@pytest.fixture
def dut(kws_program):
    with HostDut(kws_program) as running:
        port = serial.Serial(running.port, 115200, timeout=0.05)
        yield running, port
        port.close()


def exchange(port, command: bytes | str, timeout: float = 5.0) -> list[str]:
    """Send raw bytes (nothing added but '%' for a str) and read lines up to m-ready."""
    port.write(command if isinstance(command, bytes) else command.encode() + b"%")
    return read_reply(port, timeout)


_pending: dict[int, bytes] = {}   # bytes read past an m-ready line, per port


def read_reply(port, timeout: float = 5.0) -> list[str]:
    lines, data, deadline = [], _pending.pop(id(port), b""), time.monotonic() + timeout
    while True:
        while b"\r\n" in data:
            line, data = data.split(b"\r\n", 1)
            text = line.decode("ascii")          # every byte the DUT sends is ASCII
            lines.append(text)
            if text == "m-ready":
                _pending[id(port)] = data
                return lines
        if time.monotonic() > deadline:
            raise AssertionError(f"no m-ready within {timeout} s; got {lines} and {data!r}")
        data += port.read(port.in_waiting or 1)


def assert_alive(port):
    assert exchange(port, "name") == ["m-name-dut-[unspecified]", "m-ready"]


def test_stdio_mode_prints_the_boot_banner_then_serves(kws_program):
    done = subprocess.run([str(kws_program), "--stdio"], input=b"name%profile%",
                          capture_output=True, timeout=10)
    lines = done.stdout.decode("ascii").split("\r\n")
    assert lines[0] == "m-timestamp-mode-performance"
    assert re.fullmatch(r"m-lap-us-\d+", lines[1])
    assert lines[2:9] == ["m-init-done", "m-ready", "m-name-dut-[unspecified]", "m-ready",
                          "m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[kws01]",
                          "m-ready"]
    assert done.returncode == 0


def test_meets_the_official_runner_expectations(dut):
    running, port = dut
    time.sleep(0.5)
    assert port.in_waiting == 0, "output nobody asked for after the host connected"
    # name and profile: at least two lines each, no newline needed after '%'
    assert exchange(port, "name") == ["m-name-dut-[unspecified]", "m-ready"]
    assert exchange(port, "profile") == ["m-profile-[ULPMark for tinyML Firmware V0.0.1]",
                                         "m-model-[kws01]", "m-ready"]
    # an input sent the official way: 31-byte chunks, one round trip each
    data = np.random.default_rng(0).integers(0, 256, KWS_DB_BYTES).astype(np.uint8).tobytes()
    assert exchange(port, f"db load {len(data)}") == [f"m-[Expecting {len(data)} bytes]", "m-ready"]
    for start in range(0, len(data), 31):
        reply = exchange(port, "db " + data[start:start + 31].hex())
        last = start + 31 >= len(data)
        assert reply == (["m-load-done", "m-ready"] if last else ["m-ready"])
    dump = exchange(port, "db print")
    assert dump[-1] == "m-ready" and len(dump) - 1 == -(-len(data) // 8)
    assert all(re.fullmatch(r"m-buffer(-[0-9a-f]{2}){1,8}", line) for line in dump[:-1])
    assert bytes.fromhex("".join(line[len("m-buffer-"):].replace("-", "")
                                 for line in dump[:-1])) == data
    reply = exchange(port, "infer 3 2")
    assert reply[:3] == ["m-warmup-start-2", "m-warmup-done", "m-infer-start-3"]
    start, end = (int(re.fullmatch(r"m-lap-us-(\d+)", x).group(1)) for x in reply[3:5])
    assert end >= start
    assert reply[5] == "m-infer-done"
    assert re.fullmatch(r"m-results-\[(0\.\d{3,4},){11}0\.\d{3,4}\]", reply[6])
    assert reply[7:] == ["m-ready"]
    assert exchange(port, "results") == [reply[6], "m-ready"]
    # infer with no arguments: the reference defaults, N=1 and W=10
    assert exchange(port, "infer")[:3] == ["m-warmup-start-10", "m-warmup-done",
                                           "m-infer-start-1"]


def test_timestamps_count_microseconds(dut):
    _, port = dut
    first = int(exchange(port, "timestamp")[0][len("m-lap-us-"):])
    time.sleep(0.3)
    second = int(exchange(port, "timestamp")[0][len("m-lap-us-"):])
    assert 250_000 < second - first < 2_000_000


ABUSE = [
    # (what is sent, the error line expected before m-ready)
    (b"x" * 500 + b"%", "e-[Command too long: the limit is 80 characters]"),
    (b"db " + b"ab" * 60 + b"%", "e-[Command too long: the limit is 80 characters]"),
    (b"db load 491%", "e-[Supplied buffer size 491 exceeds maximum of 490]"),
    (b"db 00%", "e-[No load in progress: send 'db load N' first]"),
    (b"db load 99999999999999%", "e-[Invalid number '99999999999999']"),
    (b"db load 0%", "e-[Command 'db load' must be >0 bytes]"),
    (b"db load -5%", "e-[Command 'db load' must be >0 bytes]"),
    (b"db load%", "e-[Command 'db load' requires the # of bytes]"),
    (b"db%", "e-[Command 'db' requires a subcommand]"),
    (b"db load 4%", "m-[Expecting 4 bytes]"),
    (b"db abc%", "e-[Insufficent number of hex digits]"),
    (b"db zz11%", "e-[Invalid hex digit 'zz']"),
    (b"db 0102%", None),
    (b"db 0G%", "e-[Invalid hex digit '0G']"),
    (b"infer 1 0%", "e-[The model input needs 490 bytes but 2 were loaded]"),
    (b"db 0304%", "m-load-done"),
    (b"db 05%", "e-[All bytes already loaded: send 'db load N' to start a new input]"),
    (b"infer 0%", "e-[Inference iterations must be >0]"),
    (b"infer 1 -1%", "e-[Inference warmup must be >=0]"),
    (b"infer many%", "e-[Invalid number 'many']"),
    (b"foo bar%", "e-[Unknown command: foo]"),
    (b"\x00\xff\xfe\x80]\x1b%", "e-[Unknown command: ??????]"),
    (b"%", None),
    (b"\r\n%", None),
]


def test_protocol_abuse_gets_an_error_and_the_next_command_works(dut):
    running, port = dut
    for sent, error in ABUSE:
        reply = exchange(port, sent)
        assert reply == ([error] if error else []) + ["m-ready"], sent
        assert_alive(port)
    # the refused oversized load wrote nothing: the 4 bytes of the last good load are intact
    assert exchange(port, "db print") == ["m-buffer-01-02-03-04", "m-ready"]
    assert exchange(port, "\r\nname\n") == ["m-name-dut-[unspecified]", "m-ready"]
    assert running.running()


def test_bytes_sent_during_an_inference_wait_their_turn(dut):
    running, port = dut
    exchange(port, f"db load {KWS_DB_BYTES}")
    for start in range(0, KWS_DB_BYTES, 31):
        exchange(port, "db " + bytes(min(31, KWS_DB_BYTES - start)).hex())
    port.write(b"infer 300 0%")
    time.sleep(0.01)
    port.write(b"garbage%name%\x01\x02")   # the last bytes stay pending: no '%'
    reply = read_reply(port, timeout=30)
    assert reply[2] == "m-infer-start-300" and reply[-1] == "m-ready"
    assert read_reply(port) == ["e-[Unknown command: garbage]", "m-ready"]
    assert read_reply(port) == ["m-name-dut-[unspecified]", "m-ready"]
    assert exchange(port, b"%") == ["e-[Unknown command: ??]", "m-ready"]
    assert_alive(port)


def test_a_reset_prints_the_boot_banner_and_forgets_the_input(dut):
    running, port = dut
    exchange(port, "db load 2")
    exchange(port, "db 0102")
    running.reset()
    banner = read_reply(port)
    assert banner[0] == "m-timestamp-mode-performance"
    assert re.fullmatch(r"m-lap-us-\d+", banner[1])
    assert banner[2:] == ["m-init-done", "m-ready"]
    assert exchange(port, "db print") == ["m-ready"]
    assert exchange(port, "results") == ["e-[No results yet: run 'infer' first]", "m-ready"]


def test_the_host_may_close_and_reopen_the_port(dut):
    running, port = dut
    assert_alive(port)
    port.close()
    with serial.Serial(running.port, 115200, timeout=0.05) as again:
        assert_alive(again)


def test_the_dut_stops_with_its_launcher(kws_program):
    dut = HostDut(kws_program)
    dut.start()
    process = dut.process
    started = time.monotonic()
    dut.stop()
    assert process.poll() is not None and time.monotonic() - started < 2.5
