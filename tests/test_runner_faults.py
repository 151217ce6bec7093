"""The runner against a DUT that misbehaves: garbled lines, a reset mid-run, a board that stops
answering, an interrupted run. Each fault gets a clear message or a bounded retry, and never a
wrong, missing or duplicated result; --resume finishes an interrupted run."""
from __future__ import annotations

import json
import os
import re
import signal
import time

import numpy as np
import pytest

from tinybench import benchmarks
from tinybench.data import evalset
from tinybench.dut.host import HostDut
from tinybench.errors import UserError
from tinybench.runner import RunOptions, exchange, output, run

FILES = 12


class FaultyPort:
    """A pyserial port that passes everything through, except what a test arms:
    `on_write(data)` runs before each write; `transform(line)` may rewrite each received line."""

    def __init__(self, port):
        self.port = port
        self.on_write = lambda data: None
        self.transform = lambda line: line
        self._raw = b""
        self._ready = b""

    def write(self, data):
        self.on_write(data)
        return self.port.write(data)

    def flush(self):
        self.port.flush()

    @property
    def in_waiting(self):
        return len(self._ready)

    def read(self, size=1):
        deadline = time.monotonic() + self.port.timeout
        while not self._ready and time.monotonic() < deadline:
            self._raw += self.port.read(self.port.in_waiting or 1)
            *lines, self._raw = self._raw.split(b"\n")
            self._ready += b"".join(self.transform(line + b"\n") for line in lines)
        data, self._ready = self._ready[:size], self._ready[size:]
        return data

    def reset_input_buffer(self):
        self.port.reset_input_buffer()
        self._raw = self._ready = b""

    def close(self):
        self.port.close()


@pytest.fixture(scope="module")
def program(host_dut_program):
    return host_dut_program("kws01")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    bench = benchmarks.get("kws01")
    rng = np.random.default_rng(11)
    folder = tmp_path_factory.mktemp("kws-eval")
    evalset.write(folder, [(f"f{i:03d}.bin", rng.integers(-128, 128, 490).astype(np.int8),
                            i % bench.num_classes) for i in range(FILES)], bench)
    return folder


@pytest.fixture(scope="module")
def clean_results(program, dataset, tmp_path_factory):
    """Per file results of an undisturbed run, to hold the disturbed runs against."""
    with HostDut(program) as dut:
        result = run(RunOptions(port=dut.port, mode="accuracy", dataset=dataset,
                                out=tmp_path_factory.mktemp("clean")))
    return by_file(result.results_dir)


def by_file(folder) -> dict[str, list]:
    steps = json.loads((folder / output.RESULTS_JSON).read_text())
    assert len({s["file"] for s in steps}) == len(steps), "a file was recorded twice"
    return {s["file"]: s["infer"]["results"] for s in steps}


REAL_OPEN_PORT = exchange.open_port


def arm(**faults):
    """An open_port for the runner that wraps the real port in a FaultyPort with these faults."""
    def open_faulty(port, baud):
        wrapped = FaultyPort(REAL_OPEN_PORT(port, baud))
        for name, fault in faults.items():
            setattr(wrapped, name, fault)
        return wrapped
    return open_faulty


def counting(marker: bytes, action, at: int):
    """An on_write hook that runs `action` when `marker` is written for the at-th time."""
    seen = {"n": 0}

    def hook(data):
        if data.startswith(marker):
            seen["n"] += 1
            if seen["n"] == at:
                action()
    return hook


def test_a_garbled_line_is_retried_and_the_result_is_right(program, dataset, clean_results,
                                                          monkeypatch, tmp_path):
    corrupted = {"n": 0}

    def garble_third_results(line):
        if line.startswith(b"m-results-["):
            corrupted["n"] += 1
            if corrupted["n"] == 3:
                return line.replace(b"results", b"res\xffults")
        return line
    monkeypatch.setattr(exchange, "open_port", arm(transform=garble_third_results))
    with HostDut(program) as dut:
        result = run(RunOptions(port=dut.port, mode="accuracy", dataset=dataset, out=tmp_path))
    assert by_file(result.results_dir) == clean_results
    log = (result.results_dir / output.LOG).read_text()
    assert "warning: f002.bin: garbled line" in log


def test_a_board_reset_mid_run_resends_the_input(program, dataset, clean_results,
                                                monkeypatch, tmp_path):
    with HostDut(program) as dut:
        def reset_board():
            dut.reset()
            time.sleep(0.1)
        monkeypatch.setattr(exchange, "open_port",
                            arm(on_write=counting(b"db load", reset_board, at=3)))
        result = run(RunOptions(port=dut.port, mode="accuracy", dataset=dataset, out=tmp_path))
    assert by_file(result.results_dir) == clean_results
    log = (result.results_dir / output.LOG).read_text()
    assert "< m-init-done" in log and "the DUT restarted" in log


def test_a_silent_board_stops_the_run_clearly_and_resume_finishes_it(program, dataset,
                                                                    clean_results,
                                                                    monkeypatch, tmp_path):
    options = RunOptions(port="", mode="accuracy", dataset=dataset, out=tmp_path, timeout=0.5)
    with HostDut(program) as dut:
        options.port = dut.port
        freeze = counting(b"infer", lambda: os.kill(dut.pid, signal.SIGSTOP), at=6)
        monkeypatch.setattr(exchange, "open_port", arm(on_write=freeze))
        started = time.monotonic()
        with pytest.raises(UserError) as failure:
            run(options)
        assert time.monotonic() - started < 15
        message = str(failure.value)
        assert re.search(r"no answer to 'infer 1 0' within 0.5\d* s", message)
        assert "--resume" in message
        folder = tmp_path / "closed" / "tinybench" / "results" / "dut" / "kws" / "accuracy"
        assert not (folder / output.RESULTS_TXT).exists()
        assert (folder / output.JOURNAL).read_text().count('"step"') == 5

        os.kill(dut.pid, signal.SIGCONT)
        time.sleep(0.5)
        monkeypatch.setattr(exchange, "open_port", arm())
        with pytest.raises(UserError, match="interrupted run.*--resume"):
            run(options)
        options.resume = True
        result = run(options)
    assert by_file(result.results_dir) == clean_results
    assert not (folder / output.JOURNAL).exists()


def test_a_line_garbled_every_time_gives_up_after_bounded_retries(program, dataset,
                                                                   monkeypatch, tmp_path):
    results = {"n": 0}

    def garble_after_two(line):
        if line.startswith(b"m-results-["):
            results["n"] += 1
            if results["n"] > 2:
                return line.replace(b"]", b"\xff]")
        return line
    monkeypatch.setattr(exchange, "open_port", arm(transform=garble_after_two))
    with HostDut(program) as dut, pytest.raises(UserError, match="f002.bin failed 3 times"):
        run(RunOptions(port=dut.port, mode="accuracy", dataset=dataset, out=tmp_path))
    assert results["n"] == 2 + 3
    folder = tmp_path / "closed" / "tinybench" / "results" / "dut" / "kws" / "accuracy"
    journal = [json.loads(line) for line in (folder / output.JOURNAL).read_text().splitlines()]
    assert [r["step"]["file"] for r in journal[1:]] == ["f000.bin", "f001.bin"]


def test_an_interrupted_run_resumes_without_redoing_or_losing_files(program, dataset,
                                                                     clean_results,
                                                                     monkeypatch, tmp_path):
    def interrupt():
        raise KeyboardInterrupt
    options = RunOptions(port="", mode="accuracy", dataset=dataset, out=tmp_path)
    with HostDut(program) as dut:
        options.port = dut.port
        monkeypatch.setattr(exchange, "open_port",
                            arm(on_write=counting(b"db load", interrupt, at=8)))
        with pytest.raises(KeyboardInterrupt):
            run(options)
        monkeypatch.setattr(exchange, "open_port", arm())
        options.resume = True
        result = run(options)
    assert by_file(result.results_dir) == clean_results
    log = (result.results_dir / output.LOG).read_text()
    before, after = log.split("resuming: 7 completed step(s) kept")
    assert before.count("> db load") == 8 and after.count("> db load") == FILES - 7
    assert (result.results_dir / output.RESULTS_TXT).read_text().count("Top 1% =") == 1
