"""The firmware's number formatting (firmware/core/out.c), which replaces printf on the DUT: %0.3f
must round exactly as printf and Python do, and the kws01 style must truncate as the reference."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from tinybench.dut.firmware import firmware_dir

# A tiny program around out.c: reads float bit patterns (hex) and prints both formats.
DRIVER = r"""
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "out.h"
void board_uart_write(const char *data, size_t length) { fwrite(data, 1, length, stdout); }
uint32_t board_time_us(void) { return 0; }
int main(void) {
    unsigned bits;
    while (scanf("%x", &bits) == 1) {
        float v;
        memcpy(&v, &bits, sizeof v);
        out_fixed3(v);
        out_char(' ');
        out_trunc3(v);
        out_end_line();
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def formatter(tmp_path_factory):
    folder = tmp_path_factory.mktemp("format")
    (folder / "driver.c").write_text(DRIVER)
    program = folder / "driver"
    core = firmware_dir() / "core"
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-ffp-contract=off", f"-I{core}",
                    "-DTB_DB_BUFFER_BYTES=1", str(folder / "driver.c"), str(core / "out.c"),
                    "-o", str(program)], check=True)

    def run(values: np.ndarray) -> list[tuple[str, str]]:
        bits = np.asarray(values, dtype=np.float32).view(np.uint32)
        text = "".join(f"{b:08x}\n" for b in bits)
        out = subprocess.run([str(program)], input=text, capture_output=True, text=True,
                             check=True).stdout
        return [tuple(line.split(" ")) for line in out.splitlines()]
    return run


def reference_truncated(v: np.float32) -> str:
    """The kws01 reference: "0." then (int)(p*10), (int)(p*100)%10, (int)(p*1000)%10 in float."""
    tenths = int(v * np.float32(10))
    return f"0.{tenths}{int(v * np.float32(100)) % 10}{int(v * np.float32(1000)) % 10}"


def test_fixed3_is_printf_exact_on_every_int8_output_and_random_floats(formatter):
    rng = np.random.default_rng(7)
    dequantized = (np.arange(-128, 128, dtype=np.float32) + 128) * np.float32(1 / 256)
    bits = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32)
    random_floats = bits.view(np.float32)
    random_floats = random_floats[np.isfinite(random_floats)]
    ties = np.array([0.0625, 0.0005, 0.0015, 2.5e-4, 1.0005, 0.9995, 123.4565, 0.0, -0.0,
                     -0.0004, -0.0625, 1e-45, 3.4e38, -3.4e38, 2.0**40 + 0.5, np.inf, -np.inf],
                    dtype=np.float32)
    small = rng.uniform(-2, 2, 5000).astype(np.float32)
    mse_like = rng.uniform(0, 500, 5000).astype(np.float32)
    values = np.concatenate([dequantized, random_floats, ties, small, mse_like])
    got = formatter(values)
    wrong = [(float(v), g[0], "%.3f" % float(v)) for v, g in zip(values, got)
             if g[0] != "%.3f" % float(v)]
    assert not wrong, wrong[:10]


def test_truncated_style_matches_the_kws01_reference(formatter):
    dequantized = (np.arange(-128, 128, dtype=np.float32) + 128) * np.float32(1 / 256)
    values = np.concatenate([dequantized, np.random.default_rng(3).uniform(0, 1, 2000)
                             .astype(np.float32), np.float32([1.0])])
    got = formatter(values)
    assert [g[1] for g in got] == [reference_truncated(np.float32(v)) for v in values]
    assert got[-1][1] == "0.1000"   # the reference's oddity for 1.0, kept
