"""Running the MLPerf Tiny benchmark against a DUT over its serial line.

    run(RunOptions(port=..., mode="accuracy", dataset=..., out=...))

asks the DUT which model it runs (`profile`), runs the mode's steps (accuracy.py, performance.py)
with bounded retries (exchange.py), and writes the results in the submission layout (output.py),
step by step, so that --resume continues an interrupted run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tinybench import benchmarks
from tinybench.data import evalset
from tinybench.dut.protocol import OFFICIAL_CHUNK_BYTES
from tinybench.errors import UserError
from tinybench.runner import accuracy, performance
from tinybench.runner.context import RunContext
from tinybench.runner.exchange import StepRunner, connect
from tinybench.runner.output import RunOutput, results_prefix

MODES = ("performance", "accuracy", "energy", "layers")


@dataclass
class RunOptions:
    port: str
    mode: str
    dataset: Path
    out: Path
    baud: int | None = None
    benchmark: str | None = None        # conventions for a DUT whose model is none of the four
    division: str | None = None         # default: closed for the four benchmarks, else open
    submitter: str = "tinybench"
    system: str = "dut"
    iterations: int | None = None       # performance: inferences per window (else calibrated)
    short_window: float | None = None   # performance: seconds per window below the rules' 10
    resume: bool = False
    overwrite: bool = False
    chunk_bytes: int = OFFICIAL_CHUNK_BYTES
    timeout: float = 5.0                # seconds to wait for each line of an answer
    power: str | None = None            # energy: the --power monitor (default: the one plugged in)
    interface: str | None = None        # energy: the interface board's port (else --port directly)
    voltage: float | None = None        # energy: volts the monitor supplies (default 1.8)
    instructions_per_us: float | None = None  # the DUT's clock counts instructions (QEMU icount)
    model_macs: int | None = None       # MACs per inference, when the model is known
    note: str | None = None             # a remark for results.txt and the report (synthetic data)


@dataclass
class RunResult:
    results_dir: Path
    lines: list[str]        # results.txt
    summary: dict
    division: str = "closed"


def _check(options: RunOptions) -> None:
    if options.mode not in MODES:
        raise UserError(f"unknown mode {options.mode!r}: choose one of {', '.join(MODES)}")
    if options.iterations is not None and options.iterations < 1:
        raise UserError("--iterations must be at least 1")
    if options.short_window is not None and options.short_window <= 0:
        raise UserError("--short-window must be a positive number of seconds")
    if not 1 <= options.chunk_bytes <= 38:
        raise UserError("--chunk-bytes must be 1..38 (a longer `db` command overflows the "
                        "80-character command buffer of the reference firmware)")


def run(options: RunOptions, monitor=None) -> RunResult:
    """Run one mode. Energy mode measures with `monitor` (an energy.monitors.MonitorSession the
    caller opened, e.g. before starting an emulated DUT that reports to it), else with the one
    options.power names, opened and closed here."""
    _check(options)
    entries = evalset.read_labels(options.dataset)
    early_log: list[str] = []
    output: RunOutput | None = None

    def log(line: str) -> None:
        if output is not None and output.is_open:
            output.log(line)
        else:
            early_log.append(f"{datetime.now():%Y-%m-%d %H:%M:%S.%f} {line}")

    session = None
    port, baud, open_handle = options.port, options.baud, None
    if options.mode == "energy":
        from tinybench.runner import energy
        session = energy.start_session(options, monitor, log)
        port, baud, open_handle = energy.dut_line(options, log)
    try:
        handle, client, model = connect(port, baud, options.benchmark, log, options.timeout,
                                        open_handle)
    except BaseException:
        if session is not None and monitor is None:
            session.close()
        raise
    try:
        bench = _benchmark(model, options.benchmark)
        division = options.division or ("closed" if bench and model == bench.id else "open")
        folder = bench.submission_name if bench and model == bench.id else model
        output = RunOutput(options.out, division, options.submitter, options.system, folder,
                           options.mode)
        header = dict(model=model, benchmark=bench.id if bench else None, mode=options.mode,
                      dataset=str(Path(options.dataset).resolve()),
                      iterations=options.iterations, short_window=options.short_window)
        if options.mode == "energy":     # a resumed run must keep its power monitor
            header["power"] = session.spec.kind
        output.open(header, options.resume, options.overwrite, early_log)
        if bench and entries[0].num_classes != bench.num_classes:
            raise UserError(f"{options.dataset}: the label file has {entries[0].num_classes} "
                            f"classes, {bench.id} has {bench.num_classes}: is it the right eval set?")
        ctx = RunContext(client=client, steps=None, output=output, bench=bench, model=folder,
                         num_classes=entries[0].num_classes, chunk_bytes=options.chunk_bytes,
                         line_timeout=options.timeout,
                         instructions_per_us=options.instructions_per_us,
                         model_macs=options.model_macs)
        ctx.steps = StepRunner(client, ctx.warn)
        if options.mode == "accuracy":
            lines = accuracy.run(ctx, options.dataset, entries)
        elif options.mode == "layers":
            from tinybench.runner import layers
            lines = layers.run(ctx, options.dataset, entries)
        elif options.mode == "energy":
            lines = energy.run(ctx, options.dataset, entries, session, options.iterations,
                               options.short_window)
        else:
            lines = performance.run(ctx, options.dataset, entries, options.iterations,
                                    options.short_window)
        if options.note:
            lines.append(results_prefix() + f"Note: {options.note}")
        output.log(f"bytes sent {client.bytes_sent}, {client.exchange_seconds:.3f} s in exchanges")
        ctx.summary.update(benchmark=bench.id if bench else None, model=model, mode=options.mode,
                           exchange_seconds=client.exchange_seconds,
                           seconds_by_command=dict(client.seconds_by_command))
        path = output.finish(lines)
        return RunResult(path.parent, lines, ctx.summary, division)
    finally:
        if output is not None:
            output.close()
        handle.close()
        if session is not None and monitor is None:
            session.close()


def _benchmark(model: str, override: str | None) -> benchmarks.Benchmark | None:
    """The benchmark whose conventions the DUT's model follows: its own id, else the override;
    None for a model that is none of the four."""
    if model in benchmarks.BENCHMARKS:
        if override and override != model:
            raise UserError(f"the DUT runs {model}, not {override}: leave out --benchmark")
        return benchmarks.BENCHMARKS[model]
    return benchmarks.get(override) if override else None
