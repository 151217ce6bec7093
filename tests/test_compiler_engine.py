"""The C engine itself: it compiles without warnings as strict C99 (host gcc, and the Cortex-M4
cross compiler where installed); its portable path (no SIMD, what Cortex-M runs) gives tflite-micro's
outputs too; and the params structs of tb_engine.h have exactly the fields the lowering fills."""
from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from test_compiler_ops import CASES
from tinybench import tflm
from tinybench.compiler import compile as compiler
from tinybench.compiler import golden
from tinybench.compiler.lower import lower
from tinybench.tflite import read_graph

ENGINE = compiler.ENGINE_DIR
STRICT = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Wconversion", "-Wshadow", "-Werror",
          "-O2", "-c"]


@pytest.mark.parametrize("cc,flags", [
    ("gcc", []),
    ("gcc", ["-DTB_NO_SIMD"]),
    ("arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]),
])
def test_engine_compiles_without_warnings(tmp_path, cc, flags):
    if not shutil.which(cc):
        pytest.skip(f"{cc} is not installed")
    for source in sorted(ENGINE.glob("*.c")):
        result = subprocess.run([cc, *STRICT, *flags, f"-I{ENGINE}", str(source), "-o",
                                 str(tmp_path / (source.stem + ".o"))],
                                capture_output=True, text=True)
        assert result.returncode == 0, f"{source.name}:\n{result.stderr}"


@pytest.mark.parametrize("bench_id", ["kws01", "vww01"])
def test_portable_path_matches_tflite_micro(tmp_path, official_model, bench_id):
    model = official_model(bench_id)
    compiled = compiler.compile_model(model, tmp_path / "model", measure=False)
    exe = compiler.build_host(compiled.out_dir, tmp_path / "harness", extra_flags=["-DTB_NO_SIMD"])
    inputs = np.random.default_rng(11).integers(-128, 128, size=(20, compiled.graph.input.size),
                                                dtype=np.int8)
    interp = tflm.interpreter(model)
    expected = np.stack([tflm.run(model, x, interp).reshape(-1) for x in inputs])
    assert np.array_equal(compiler.run_host(exe, compiled.graph, inputs), expected)


def _struct_fields() -> dict[str, set[str]]:
    text = re.sub(r"/\*.*?\*/", "", (ENGINE / "tb_engine.h").read_text(), flags=re.S)
    structs = {}
    for body, name in re.findall(r"typedef struct \{(.*?)\}\s*(\w+);", text, flags=re.S):
        fields = set()
        for declaration in body.split(";"):
            declaration = re.sub(r"\b(const|int8_t|int32_t|float|void)\b|\*", " ", declaration)
            fields |= {part.strip() for part in declaration.split(",") if part.strip()}
        structs[name] = fields
    return structs


def test_params_structs_match_the_lowering():
    structs = _struct_fields()
    header = (ENGINE / "tb_engine.h").read_text()
    seen = set()
    for make in CASES.values():
        graph = read_graph(make())
        for step in lower(graph):
            expected = set(step.params) | ({"scratch"} if "scratch" in structs[step.params_type]
                                           else set())
            assert structs[step.params_type] == expected, step.kernel
            assert f"void tb_{step.kernel}(const {step.params_type} *p" in header
            assert callable(getattr(golden, step.kernel))
            seen.add(step.params_type)
    assert seen == set(structs), f"structs never used: {set(structs) - seen}"
