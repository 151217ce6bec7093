"""A run against an emulated board: compile the model, build and start the board (with a
simulated power monitor in energy mode), run, and write the system description."""
from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from tinybench.dut.emulate import emulated_dut
from tinybench.runner import RunOptions, RunResult, run
from tinybench.runner.systems import write_system_description
from tinybench.tflite import read_graph, total_macs


def run_emulated(options: RunOptions, model: Path, board: str, build_dir: Path | None = None,
                 notes: str = "") -> RunResult:
    """Run options.mode against `board` (host or qemu) running `model`. options.port is filled
    in; options.benchmark picks the conventions of a model that is none of the four."""
    energy = options.mode == "energy"
    if energy:
        from tinybench.runner.energy import open_session
    with (open_session(options.power, board) if energy else nullcontext()) as session, \
            emulated_dut(model, board, options.benchmark, build_dir, energy=energy,
                         dut_arguments=session.dut_arguments if energy else (),
                         layer_hook=options.mode == "layers") as dut:
        options.port = dut.port
        options.instructions_per_us = dut.instructions_per_us
        options.model_macs = total_macs(read_graph(model))
        result = run(options, monitor=session)
    write_system_description(options.out, result.division, options.submitter, options.system,
                             board, notes)
    return result
