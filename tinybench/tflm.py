"""The tflite-micro interpreter (PyPI `tflite-micro`): the numeric reference for our firmware, and
the source of the TFLM arena figure that `tinybench inspect` reports."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

from tinybench.errors import UserError

_ARENA_LINE = re.compile(r"Arena allocation total (\d+) bytes")
_GENEROUS_ARENA = 4 * 1024 * 1024


def _runtime():
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:  # pragma: no cover - depends on the install
        raise UserError("this needs tflite-micro: pip install 'tinybench[runtime]'") from None
    return runtime


def _read(model: str | Path | bytes) -> bytes:
    return bytes(model) if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()


class _CapturedStderr:
    """TFLM prints through C stdio, so file descriptor 2 itself is redirected to a temp file."""

    def __enter__(self):
        self._file = tempfile.TemporaryFile(mode="w+b")
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._file.seek(0)
        self.text = self._file.read().decode(errors="replace")
        self._file.close()


def interpreter(model: str | Path | bytes, arena_size: int = _GENEROUS_ARENA,
                preserve_all_tensors: bool = False):
    """A tflite-micro interpreter for the model. With preserve_all_tensors every intermediate tensor
    stays readable through GetTensor (for layer-by-layer comparison)."""
    runtime = _runtime()
    config = (runtime.InterpreterConfig.kPreserveAllTensors if preserve_all_tensors
              else runtime.InterpreterConfig.kAllocationRecording)
    captured = _CapturedStderr()
    try:
        with captured:
            return runtime.Interpreter.from_bytes(_read(model), arena_size=arena_size,
                                                  intrepreter_config=config)
    except Exception as exc:
        # TFLM says why (e.g. "Hybrid models are not supported") only on its stderr.
        reason = " ".join(captured.text.split())
        raise UserError(f"tflite-micro could not load the model: {exc}"
                        + (f" ({reason})" if reason else "")) from None


def arena_bytes(model: str | Path | bytes) -> int:
    """The total arena TFLM allocates for the model (its RecordingMicroAllocator figure)."""
    interp = interpreter(model)
    with _CapturedStderr() as err:
        interp.print_allocations()
    match = _ARENA_LINE.search(err.text)
    if not match:
        raise UserError("tflite-micro reported no arena figure for this model")
    return int(match.group(1))


def run(model: str | Path | bytes, inputs: np.ndarray, interp=None) -> np.ndarray:
    """Run one input (any shape with the right element count) and return the first output."""
    interp = interp or interpreter(model)
    detail = interp.get_input_details(0)
    interp.set_input(np.asarray(inputs).reshape(detail["shape"]).astype(detail["dtype"]), 0)
    interp.invoke()
    return np.array(interp.get_output(0))
