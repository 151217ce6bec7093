"""The systems under test of `tinybench hostbench`, behind one interface.

A system answers one sample with the values a DUT prints in its m-results line: the dequantized
output scores of a classifier, or (an autoencoder such as ad01) the mean squared error of the
reconstruction against the float input, computed as the firmware computes it. So an accuracy run
scores the same numbers whichever system ran it.

    litert    LiteRT (ai-edge-litert, the successor of tflite-runtime), XNNPACK, N threads
    tflm      the tflite-micro interpreter (the numeric reference of our firmware)
    compiled  tinybench's own compiled C engine, built as a host shared library
    dut       a DUT over serial: a board on --port, or an emulated one (--emulate host|qemu);
              each sample is one `db load` + `infer 1 0`, so its latency includes the transfer
"""
from __future__ import annotations

import ctypes
import tempfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from tinybench.benchmarks import Benchmark
from tinybench.errors import UserError
from tinybench.hostbench.samples import Sample
from tinybench.tflite import Graph

SYSTEMS = ("litert", "tflm", "compiled", "dut")


def reconstructs_input(bench: Benchmark | None) -> bool:
    """The model gives its input back (an autoencoder): its result is the reconstruction error."""
    return bench is not None and bench.output_elements == bench.input_elements


def result_values(output: np.ndarray, graph: Graph, bench: Benchmark | None,
                  sample: Sample) -> np.ndarray:
    """What the DUT prints for this int8 output (firmware/core bench_io.c, in float32 as there)."""
    out = graph.output
    q = np.asarray(output, dtype=np.int8).reshape(-1).astype(np.int32)
    values = (q - int(out.zero_point[0])).astype(np.float32) * np.float32(out.scale[0])
    if not reconstructs_input(bench):
        return values
    original = np.frombuffer(sample.payload, dtype=np.float32)[:values.size]
    squares = (values - original) * (values - original)
    # summed in index order like the firmware's loop (numpy's sum would pair the terms)
    total = np.cumsum(squares, dtype=np.float32)[-1]
    return np.array([total / np.float32(values.size)], dtype=np.float32)


class System:
    """One system under test. infer() answers one sample; it is only called from one thread."""
    name = ""

    def __init__(self, graph: Graph, bench: Benchmark | None):
        self.graph, self.bench = graph, bench

    def describe(self) -> str:
        raise NotImplementedError

    def infer(self, sample: Sample) -> np.ndarray:
        return result_values(self.run_int8(sample.model_input), self.graph, self.bench, sample)

    def run_int8(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        pass


class LiteRT(System):
    name = "litert"

    def __init__(self, model: Path, graph: Graph, bench: Benchmark | None, threads: int):
        super().__init__(graph, bench)
        from ai_edge_litert.interpreter import Interpreter
        try:
            self._interp = Interpreter(model_path=str(model), num_threads=threads)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise UserError(f"LiteRT could not load {model}: {exc}") from None
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]["index"]
        self.threads = threads

    def describe(self) -> str:
        return f"LiteRT (ai-edge-litert, default resolver with XNNPACK), {self.threads} thread(s)"

    def run_int8(self, x):
        self._interp.set_tensor(self._in["index"], x.reshape(self._in["shape"]))
        self._interp.invoke()
        return self._interp.get_tensor(self._out)


class TFLM(System):
    name = "tflm"

    def __init__(self, model: Path, graph: Graph, bench: Benchmark | None):
        super().__init__(graph, bench)
        from tinybench import tflm
        self._interp = tflm.interpreter(model)
        self._shape = self._interp.get_input_details(0)["shape"]

    def describe(self) -> str:
        return "tflite-micro interpreter (reference kernels)"

    def run_int8(self, x):
        self._interp.set_input(x.reshape(self._shape), 0)
        self._interp.invoke()
        return self._interp.get_output(0)


class Compiled(System):
    """The model compiled by `tinybench compile` and built with the host C compiler as a shared
    library, called through ctypes: the host figures are our engine's own."""
    name = "compiled"

    def __init__(self, model: Path, graph: Graph, bench: Benchmark | None):
        super().__init__(graph, bench)
        from tinybench.compiler.compile import build_host, compile_model
        self._tmp = tempfile.TemporaryDirectory(prefix="tb-hostbench-")
        folder = Path(self._tmp.name)
        compiled = compile_model(model, folder / "model", measure=False)
        library = build_host(compiled.out_dir, folder / "model.so",
                             extra_flags=["-shared", "-fPIC"])
        self._lib = ctypes.CDLL(str(library))
        self._lib.tb_model_invoke.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self._output = np.zeros(graph.output.size, dtype=np.int8)

    def describe(self) -> str:
        return "tinybench compiled C engine (host shared library, gcc -O2)"

    def run_int8(self, x):
        x = np.ascontiguousarray(x, dtype=np.int8)
        self._lib.tb_model_invoke(x.ctypes.data, self._output.ctypes.data)
        return self._output

    def close(self):
        self._tmp.cleanup()


class Dut(System):
    """A DUT over serial, driven with the runner's exchange rules (bounded retries, resync)."""
    name = "dut"

    def __init__(self, model: Path | None, graph: Graph, bench: Benchmark | None,
                 port: str | None, emulate: str | None, baud: int | None, timeout: float):
        super().__init__(graph, bench)
        from tinybench.runner.exchange import StepRunner, connect
        self._stack = ExitStack()
        if emulate:
            from tinybench.dut.emulate import emulated_dut
            port = self._stack.enter_context(emulated_dut(model, emulate)).port
        self.where = f"emulated board {emulate}" if emulate else f"port {port}"
        self.log: list[str] = []
        handle, self._client, self.model_name = connect(
            port, baud, bench.id if bench else None, self.log.append, timeout)
        self._stack.callback(handle.close)
        self._steps = StepRunner(self._client, self.log.append)

    def describe(self) -> str:
        return (f"MLPerf Tiny DUT ({self.where}, model {self.model_name}); each sample is one "
                f"db load + infer 1 0, so its latency includes the serial transfer")

    def infer(self, sample):
        def exchange():
            self._client.load(sample.payload)
            return self._client.infer(1, 0)
        return np.array(self._steps.run(sample.file, exchange).results, dtype=np.float32)

    def close(self):
        self._stack.close()


def make_system(name: str, model: Path, graph: Graph, bench: Benchmark | None, *,
                threads: int = 1, port: str | None = None, emulate: str | None = None,
                baud: int | None = None, timeout: float = 5.0) -> System:
    if name == "litert":
        return LiteRT(model, graph, bench, threads)
    if name == "tflm":
        return TFLM(model, graph, bench)
    if name == "compiled":
        return Compiled(model, graph, bench)
    if name == "dut":
        if not (port or emulate):
            raise UserError("--system-under-test dut needs --port PORT or --emulate host|qemu")
        return Dut(model, graph, bench, port, emulate, baud, timeout)
    raise UserError(f"unknown system under test {name!r}: choose one of {', '.join(SYSTEMS)}")
