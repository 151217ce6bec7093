"""Building the firmware: `make -C firmware BOARD=host MODEL=DIR`, the db buffer size taken from the
benchmark registry, and clear errors for a wrong model folder, board or benchmark."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tinybench import benchmarks
from tinybench.compiler.compile import compile_model
from tinybench.dut import firmware
from tinybench.errors import UserError

OPEN_HEADER = """#define TB_MODEL_NAME "mine"
#define TB_MODEL_BENCHMARK ""   /* none of the four */
#define TB_INPUT_SIZE 300
#define TB_OUTPUT_SIZE 7
#define TB_INPUT_SCALE 0.25f
#define TB_INPUT_ZERO_POINT (-3)
#define TB_OUTPUT_SCALE 0.00390625f
#define TB_OUTPUT_ZERO_POINT (-128)
"""


def make(*args):
    return subprocess.run(["make", "-C", str(firmware.firmware_dir()), *args],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def compiled(official_model, tmp_path_factory):
    """compiled('ad01') -> a folder written by the compiler for that official model."""
    def get(bench_id):
        folder = tmp_path_factory.getbasetemp() / f"compiled-{bench_id}"
        if not (folder / "model.h").exists():
            compile_model(official_model(bench_id), folder, measure=False)
        return folder
    return get


def test_the_db_buffer_size_comes_from_the_registry(compiled, tmp_path):
    for bench_id in ("ad01", "kws01"):
        done = subprocess.run([sys.executable, "-m", "tinybench.dut.firmware", "db-buffer-bytes",
                               str(compiled(bench_id))], capture_output=True, text=True)
        assert done.stdout.strip() == str(benchmarks.get(bench_id).db_buffer_bytes)
    (tmp_path / "model.h").write_text(OPEN_HEADER)
    header = firmware.read_model_header(tmp_path)
    assert (header.name, header.benchmark, header.input_zero_point) == ("mine", "", -3)
    assert firmware.db_buffer_bytes(header) == 300     # its own input, one byte per element


def test_make_builds_a_hand_run_host_firmware(compiled, tmp_path):
    done = make("-j2", "BOARD=host", f"MODEL={compiled('ad01')}", f"BUILD={tmp_path}")
    assert done.returncode == 0, done.stderr
    assert "-DTB_DB_BUFFER_BYTES=5120" in done.stdout
    answer = subprocess.run([str(tmp_path / "dut"), "--stdio"], input=b"profile%",
                            capture_output=True, timeout=10).stdout
    assert b"m-model-[ad01]\r\nm-ready\r\n" in answer


def test_make_explains_a_missing_or_wrong_model_and_board(tmp_path):
    assert "MODEL is not set" in make("BOARD=host").stderr
    assert "model.h not found" in make(f"MODEL={tmp_path}").stderr
    (tmp_path / "model.h").write_text(OPEN_HEADER)
    done = make("BOARD=toaster", f"MODEL={tmp_path}")
    assert done.returncode != 0 and "unknown BOARD 'toaster'" in done.stderr and "host" in done.stderr


def test_a_benchmark_whose_sizes_do_not_fit_the_model_is_refused(compiled):
    header = firmware.read_model_header(compiled("kws01"))
    assert firmware.conventions(header).id == "kws01"
    with pytest.raises(UserError, match="kws01.*490 inputs and 12 outputs, but ad01 needs 640"):
        firmware.conventions(header, "ad01")
