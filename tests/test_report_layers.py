"""The `layers` DUT command end to end: the host-board firmware built with per-layer timing
(-DTB_LAYER_HOOK) runs the official kws01 model and reports each layer's time; the report code
reads the reply and writes the layers/ test folder."""
from __future__ import annotations

import re
import subprocess

import pytest

from tinybench.dut import firmware
from tinybench.dut.emulate import compile_into
from tinybench.dut.host import HostDut
from tinybench.dut.protocol import DutClient, DutRefused
from tinybench.dut.transport import open_port
from tinybench.report import layers


def build_with_layer_timing(model, folder):
    compile_into(model, folder / "model")
    header = firmware.read_model_header(folder / "model")
    done = subprocess.run(
        ["make", "-C", str(firmware.firmware_dir()), "-j2", "BOARD=host",
         f"MODEL={(folder / 'model').resolve()}", f"BUILD={(folder / 'build').resolve()}",
         f"DB_BUFFER_BYTES={firmware.db_buffer_bytes(header)}", "CFLAGS=-DTB_LAYER_HOOK"],
        capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder / "build" / "dut"


@pytest.mark.slow
def test_layers_command_times_every_step_of_the_last_inference(tmp_path, official_model):
    program = build_with_layer_timing(official_model("kws01"), tmp_path)
    # The steps the compiler emitted, by the names it gave them in model.c.
    names = re.search(r"tb_layer_names\[TB_LAYER_COUNT\] = \{(.*?)\};",
                      (tmp_path / "model/model.c").read_text(), re.S).group(1)
    expected_ops = re.findall(r'"([A-Z0-9_]+)#\d+"', names)
    assert "CONV_2D" in expected_ops and "DEPTHWISE_CONV_2D" in expected_ops

    with HostDut(program) as dut:
        port = open_port(dut.port, 115200)
        try:
            client = DutClient(port)
            with pytest.raises(DutRefused, match="No inference has run yet"):
                layers.collect(client)
            client.load(bytes(range(256)) + bytes(234))
            runs = []
            for _ in range(3):   # the per-layer minimum of a few runs filters out preemption
                inference = client.infer(1, 0)
                timed, reply = layers.collect(client)
                runs.append((inference.elapsed_time, timed))
        finally:
            port.close()

    for elapsed, timed in runs:
        assert [x.opcode for x in timed] == expected_ops
        assert [x.index for x in timed] == list(range(len(expected_ops)))
        # The layers run inside the timed inference: their sum cannot exceed it (up to one
        # microsecond of truncation per layer).
        assert 0 < sum(x.us for x in timed) <= elapsed + len(timed)
    fastest = [min(run[1][i].us for run in runs) for i in range(len(expected_ops))]
    slowest = expected_ops[fastest.index(max(fastest))]
    assert slowest in ("CONV_2D", "DEPTHWISE_CONV_2D")   # not a reshape or the softmax

    layers.write_layers(tmp_path / "kws" / "layers", timed, reply)
    assert layers.read_layers(tmp_path / "kws" / "layers") == timed
    assert (tmp_path / "kws/layers/results.txt").read_text().splitlines() == reply


def test_firmware_without_layer_timing_does_not_know_the_command(host_dut_program):
    program = host_dut_program("ad01")
    with HostDut(program) as dut:
        port = open_port(dut.port, 921600)
        try:
            with pytest.raises(DutRefused, match="Unknown command: layers"):
                layers.collect(DutClient(port))
        finally:
            port.close()
