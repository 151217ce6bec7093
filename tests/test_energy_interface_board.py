"""The interface-board pass-through (SPEC 2.9): the host DUT (the real firmware on its pty) behind
the simulated interface board, driven by the ordinary DUT protocol client through PassthroughPort."""
from __future__ import annotations

import time

import numpy as np
import pytest

from tinybench.dut.host import HostDut
from tinybench.dut.protocol import DutClient
from tinybench.energy.interface_board import (BOARD_NAME, CHUNK_BYTES, InterfaceBoard,
                                              InterfaceBoardError)
from tinybench.energy.interface_board_sim import InterfaceBoardSimulator


@pytest.fixture(scope="module")
def ad01_program(host_dut_program):
    return host_dut_program("ad01")


@pytest.fixture
def board(ad01_program):
    lines = []
    with HostDut(ad01_program) as dut, InterfaceBoardSimulator(dut.port, log=lines.append) as sim:
        board = InterfaceBoard(sim.port, log=lines.append)
        yield board, lines
        board.close()


def test_board_commands(board):
    board, _ = board
    assert board.name() == BOARD_NAME
    assert board.check_baud() == 9600
    board.set_baud(9600)         # already so: nothing is stored, no reset
    board.set_baud(115200, settle=0.1)
    assert board.check_baud() == 115200


def test_the_dut_protocol_runs_through_the_board(board):
    board, lines = board
    client = DutClient(board.passthrough())
    assert client.name() == ("dut", "unspecified")
    assert client.profile()[1] == "ad01"
    window = np.random.default_rng(0).normal(size=640).astype(np.float32).tobytes()
    client.load(window, chunk_bytes=CHUNK_BYTES)
    result = client.infer(3, 1)
    assert len(result.results) == 1 and result.results[0] > 0
    # What went over the wire: the pass-through command, the board's own answer, then the DUT's
    # lines with their prefix.
    assert "board > dut name%" in lines
    assert "board < m-dut-passthrough(name)" in lines
    assert "board < [dut]: m-name-dut-[unspecified]" in lines
    chunks = [line for line in lines if line.startswith("board > dut db ") and "load" not in line]
    assert len(chunks) == -(-2560 // CHUNK_BYTES)


def test_a_silent_board_is_reported(tmp_path):
    import os
    import tty
    master, slave = os.openpty()    # a port nobody answers on
    tty.setraw(slave)
    try:
        board = InterfaceBoard(os.ttyname(slave), timeout=0.3)
        started = time.monotonic()
        with pytest.raises(InterfaceBoardError, match="did not answer 'name'"):
            board.name()
        assert time.monotonic() - started < 2
        board.close()
    finally:
        os.close(master)
        os.close(slave)
