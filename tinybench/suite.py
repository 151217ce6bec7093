"""`tinybench suite`: the whole flow for each benchmark, one stage after the other.

    data (real or synthetic) -> train -> quantize -> eval set -> compile + build + flash
      -> run performance, accuracy (energy with a monitor), layers -> report -> check

Every stage writes files under OUT/<bench>/ (models, eval set) or OUT/results/ (the submission
tree) and is skipped when its output is already there, so an interrupted suite continues where it
stopped. With --models the given int8 models (for instance the official ones) replace training and
quantization.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinybench import benchmarks
from tinybench.errors import UserError
from tinybench.report.formats import SYNTHETIC_NOTE

# Files per eval set on synthetic data: enough for a meaningful accuracy, small enough that the
# demo finishes in minutes (ad01 sends 196 windows per file).
SYNTHETIC_EVAL_FILES = {"kws01": 240, "vww01": 100, "ic01": 200, "ad01": 16}


@dataclass
class SuiteOptions:
    out: Path
    benchmarks: list[str] = field(default_factory=lambda: list(benchmarks.BENCHMARKS))
    emulate: str | None = "host"        # host | qemu, or None for a real board on `port`
    port: str | None = None
    board: str | None = None            # with port: build and flash each benchmark's firmware
    data: Path | None = None            # a folder with one dataset folder per benchmark
    synthetic: bool = False
    models: Path | None = None          # int8 models <bench>.tflite: skip training
    epochs: int | None = None
    quick: bool = False                 # the configs' quick: settings (small data)
    short_window: float | None = None   # performance windows below the rules' 10 s
    power: str | None = None            # energy mode with this monitor
    layers: bool = True
    submitter: str = "tinybench"
    log: Callable[[str], None] = print


@dataclass
class BenchmarkOutcome:
    bench: str
    model: Path | None = None
    results: dict = field(default_factory=dict)   # mode -> results folder
    seconds: float = 0.0
    error: str | None = None


def run_suite(options: SuiteOptions) -> list[BenchmarkOutcome]:
    if options.synthetic and options.data:
        raise UserError("give either --data or --synthetic, not both")
    if options.emulate is None and not options.port:
        raise UserError("give --emulate host|qemu, or --port PORT (with --board to build and "
                        "flash each benchmark's firmware)")
    if options.board and options.emulate:
        raise UserError("--board is for a real board on --port; emulated boards are built anyway")
    if options.models is None and not (options.synthetic or options.data):
        raise UserError("training needs data: give --synthetic, --data DIR, or --models DIR with "
                        "int8 models to skip training")
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    if options.synthetic:
        options.log(SYNTHETIC_NOTE)
    outcomes = []
    for bench_id in options.benchmarks:
        bench = benchmarks.get(bench_id)
        outcome = BenchmarkOutcome(bench.id)
        started = time.monotonic()
        try:
            _run_benchmark(bench, options, out / bench.id, outcome)
        except UserError as exc:   # one benchmark failing does not stop the others
            outcome.error = str(exc)
            options.log(f"{bench.id}: FAILED: {exc}")
        outcome.seconds = time.monotonic() - started
        outcomes.append(outcome)
    _report_and_check(options, out, outcomes)
    return outcomes


def _stage(options: SuiteOptions, bench_id: str, text: str) -> None:
    options.log(f"\n== {bench_id}: {text}")


def _run_benchmark(bench, options: SuiteOptions, folder: Path, outcome: BenchmarkOutcome) -> None:
    data = None
    if options.synthetic or options.data:
        data = _prepared_data(bench, options, folder)
    outcome.model = _int8_model(bench, options, folder, data)
    evalset_dir = _eval_set(bench, options, folder, data, outcome.model)
    modes = ["performance", "accuracy"] + (["energy"] if options.power else []) + \
        (["layers"] if options.layers and options.emulate else [])
    flashed = None
    for mode in modes:
        if options.board and flashed != (mode == "energy"):
            flashed = mode == "energy"
            _flash(bench, options, outcome.model, folder, energy=flashed)
        outcome.results[mode] = _run_mode(bench, options, outcome.model, evalset_dir, mode)


def _flash(bench, options: SuiteOptions, model: Path, folder: Path, energy: bool) -> None:
    """Compile the model, build the board's firmware (the energy-mode one for energy runs) and
    flash it."""
    from tinybench.dut import firmware
    from tinybench.dut.emulate import compile_into
    _stage(options, bench.id, f"build and flash {options.board}" + (" (energy mode)" if energy
                                                                    else ""))
    build_dir = folder / "firmware" / (options.board + ("-energy" if energy else ""))
    compile_into(model, build_dir / "model")
    firmware.build(build_dir / "model", build_dir, options.board, energy=energy, flash=True)


def _prepared_data(bench, options: SuiteOptions, folder: Path):
    from tinybench.train import resolve_data
    _stage(options, bench.id, "data")
    source = None if options.synthetic else Path(options.data) / bench.id
    return resolve_data(bench.id, folder / "train", source, options.synthetic, log=options.log)


def _int8_model(bench, options: SuiteOptions, folder: Path, data) -> Path:
    int8 = folder / f"{bench.id}_int8.tflite"
    if options.models is not None:
        given = Path(options.models) / f"{bench.id}.tflite"
        if not given.is_file():
            raise UserError(f"{options.models}: no {bench.id}.tflite in this folder")
        return given
    if int8.is_file():
        options.log(f"{bench.id}: using {int8} from an earlier run")
        return int8
    from tinybench import quantize
    from tinybench.train import FINAL_MODEL, format_summary, train
    _stage(options, bench.id, "train")
    summary = train(bench.id, folder / "train", data=data.folder, epochs=options.epochs,
                    quick=options.quick, log=options.log)
    options.log(format_summary(summary, folder / "train"))
    _stage(options, bench.id, "quantize")
    result = quantize.quantize(bench.id, folder / "train" / FINAL_MODEL, data.folder, int8)
    options.log(quantize.format_summary(result))
    return int8


def _eval_set(bench, options: SuiteOptions, folder: Path, data, model: Path) -> Path:
    from tinybench.data import evalset
    from tinybench.data.export import export_eval
    from tinybench.tflite import read_graph

    target = folder / "eval"
    if (target / evalset.LABELS_FILE).is_file():
        return target
    if data is None:
        raise UserError(f"no eval set for {bench.id}: give --data or --synthetic with --models")
    _stage(options, bench.id, "eval set")
    graph = read_graph(model)
    count = SYNTHETIC_EVAL_FILES[bench.id] if options.synthetic else None
    export_eval(bench.id, data, target, count=count,
                input_scale=float(graph.input.scale[0]),
                input_zero_point=int(graph.input.zero_point[0]))
    return target


def _run_mode(bench, options: SuiteOptions, model: Path, dataset: Path, mode: str) -> Path:
    from tinybench import runner

    system = options.emulate or "dut"
    results = Path(options.out) / "results"
    done = results / "closed" / options.submitter / "results" / system / bench.submission_name \
        / mode / "results.txt"
    if done.is_file():
        options.log(f"{bench.id}: {mode} results already in {done.parent}")
        return done.parent
    _stage(options, bench.id, f"run {mode}")
    run_options = runner.RunOptions(
        port=options.port, mode=mode, dataset=dataset, out=results, system=system,
        submitter=options.submitter, short_window=options.short_window, power=options.power,
        resume=True, note=SYNTHETIC_NOTE if options.synthetic else None)
    if options.emulate is None:
        result = runner.run(run_options)
    else:
        from tinybench.runner.emulated import run_emulated
        result = run_emulated(run_options, model, options.emulate,
                              notes=SYNTHETIC_NOTE if options.synthetic else "")
    for line in result.lines[-4:]:
        options.log(line)
    return result.results_dir


def _report_and_check(options: SuiteOptions, out: Path, outcomes: list[BenchmarkOutcome]) -> None:
    from tinybench.report import make_report
    from tinybench.report.check import check, write_summary

    results = out / "results"
    if not results.is_dir():
        return
    options.log("\n== report")
    report = make_report([results], out / "report")
    options.log(report.text)
    options.log(f"report: {out / 'report' / 'report.html'}")
    options.log("\n== check")
    checked = check(results)
    write_summary(checked, out / "summary.csv")
    options.log(checked.text())
    for outcome in outcomes:
        state = f"FAILED ({outcome.error})" if outcome.error else "done"
        options.log(f"{outcome.bench}: {state} in {outcome.seconds:.0f} s")
