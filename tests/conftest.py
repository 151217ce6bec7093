"""Shared test fixtures. The MLPerf Tiny reference files are read from ../shared/mlperf-tiny (never
copied into the project); tests that need them skip with a clear message where it is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

PROJECT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TINYBENCH_SHARED", PROJECT.parent / "shared")) / "mlperf-tiny"
BENCH_IDS = ["kws01", "vww01", "ic01", "ad01"]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"MLPerf Tiny reference files not found at {path} "
                    f"(set TINYBENCH_SHARED to the folder that holds mlperf-tiny/)")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _need(SHARED)


@pytest.fixture(scope="session")
def official_model():
    """official_model('kws01') -> Path of the official int8 reference model."""
    return lambda bench_id: _need(SHARED / "models" / f"{bench_id}.tflite")


@pytest.fixture(scope="session")
def float_model_dir() -> Path:
    return _need(SHARED / "float-models")


@pytest.fixture(scope="session")
def host_dut_program(official_model, tmp_path_factory):
    """host_dut_program('kws01') -> the host-board DUT program for that official model, compiled
    and built once per test session."""
    from tinybench.dut.emulate import build_for_model
    built = {}

    def get(bench_id):
        if bench_id not in built:
            built[bench_id], _ = build_for_model(
                official_model(bench_id),
                build_dir=tmp_path_factory.getbasetemp() / f"host-dut-{bench_id}")
        return built[bench_id]
    return get


@pytest.fixture
def cli():
    """cli('inspect', path) -> click Result, run in-process with stderr kept apart."""
    from tinybench.cli import main
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
    return invoke


@pytest.fixture(scope="session")
def modelgen_cache(request) -> Path:
    """Where tests/modelgen.py keeps converted models between runs (under .pytest_cache), so that
    every test module converts each generated model once."""
    import modelgen
    return modelgen.pytest_cache_dir(request.config)
