"""The `tinybench` command: one thin command per stage of the flow. Logic lives in the modules;
heavy imports (TensorFlow, tflite-micro) happen inside the commands that need them."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tinybench import __version__, benchmarks
from tinybench.errors import UserError

BENCH_IDS = tuple(benchmarks.BENCHMARKS)


class _Group(click.Group):
    """Turns UserError into a one-line message and exit code 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted; results written so far are kept", err=True)
            sys.exit(130)


def _bench_arg(value: str) -> str:
    return benchmarks.get(value).id


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="tinybench")
def main():
    """tinybench: train, quantize, compile and run the MLPerf Tiny benchmarks."""


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def inspect(model: Path, as_json: bool):
    """Ops, shapes, quantization, MACs, parameters and TFLM arena of MODEL (.tflite)."""
    from tinybench import inspect_model
    summary = inspect_model.summarize(model)
    click.echo(json.dumps(summary, indent=2) if as_json else inspect_model.format_text(summary))


@main.group()
def models():
    """The official MLPerf Tiny int8 reference models."""


@models.command("download")
@click.argument("bench", nargs=-1)
@click.option("--from", "source", type=click.Path(file_okay=False, path_type=Path),
              help="Copy from this folder instead of downloading.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("models/reference"), show_default=True)
def models_download(bench, source, out):
    """Fetch the official int8 models of BENCH... (default: all four), checking their md5."""
    from tinybench import reference_models
    ids = [_bench_arg(b) for b in bench] or list(BENCH_IDS)
    for path in reference_models.obtain(ids, dest=out, source=source):
        click.echo(f"{path}  (md5 verified)")


@main.command()
@click.argument("bench")
@click.option("--model", "model_path", required=True, type=click.Path(path_type=Path),
              help="The float model: a .keras file, an .h5 file or a SavedModel folder.")
@click.option("--calibration", required=True, type=click.Path(path_type=Path),
              help="A prepared dataset folder (the reference's calibration picks), an eval-set "
                   "folder in the MLPerf format (.bin files + y_labels.csv) or a .npy/.npz of "
                   "float model inputs.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="The int8 .tflite file to write.")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Calibration inputs to use, spread over the source (default: as many as "
                   "the reference calibrates with; fewer for ad01).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def quantize(bench, model_path, calibration, out, samples, as_json):
    """Post-training full-int8 quantization of a float model of BENCH."""
    from tinybench import quantize as quantizer
    summary = quantizer.quantize(_bench_arg(bench), model_path, calibration, out, samples)
    click.echo(json.dumps(summary, indent=2) if as_json else quantizer.format_summary(summary))


def _default_chunk_bytes(interface: str | None) -> int:
    """The official runner's `db` chunk: smaller through an interface board."""
    if interface:
        from tinybench.energy.interface_board import CHUNK_BYTES
        return CHUNK_BYTES
    from tinybench.dut.protocol import OFFICIAL_CHUNK_BYTES
    return OFFICIAL_CHUNK_BYTES


@main.command("run")
@click.option("--port", help="The DUT's serial port: a device path (/dev/ttyACM0) or a pyserial "
                             "URL (socket://HOST:PORT).")
@click.option("--emulate", "board", type=click.Choice(["host", "qemu"]),
              help="Compile --model, build and start an emulated DUT on this board, and run "
                   "against it.")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path),
              help="The int8 .tflite model to emulate (with --emulate).")
@click.option("--mode", required=True,
              type=click.Choice(["performance", "accuracy", "energy", "layers"]),
              help="layers: the time of each layer of one inference (a firmware built with the "
                   "per-layer hook; --emulate builds it).")
@click.option("--dataset", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="An eval set in the MLPerf format: .bin files and a y_labels.csv.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Results root: results go to OUT/<division>/<submitter>/results/<system>/"
                   "<model>/<mode>/.")
@click.option("--benchmark", type=click.Choice(BENCH_IDS),
              help="Follow this benchmark's conventions for a model that is none of the four "
                   "(default: what the DUT reports, or what the model is).")
@click.option("--baud", type=click.IntRange(min=1),
              help="Baud rate (default: the official one: 115200, 921600 for ad01).")
@click.option("--division", type=click.Choice(["closed", "open"]),
              help="Default: closed for the four benchmarks, open for any other model.")
@click.option("--submitter", default="tinybench", show_default=True)
@click.option("--system", help="System name in the results tree (default: the emulated board, "
                               "or 'dut').")
@click.option("--iterations", type=click.IntRange(min=1),
              help="Performance, energy: inferences per window (default: calibrated for >= 10 s).")
@click.option("--short-window", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Performance, energy: windows of SECONDS instead of the rules' 10 s, for tests "
                   "and quick looks; the results then say they are not valid for submission.")
@click.option("--power", metavar="MONITOR",
              help="Energy: the power monitor: lpm01a[:PORT], joulescope, or a simulated one, "
                   "lpm01a-sim or sim (only with --emulate; the default there is sim). "
                   "Default: the one plugged in.")
@click.option("--interface", metavar="PORT",
              help="Energy: the interface board's serial port; the DUT is reached through it "
                   "(default: the one plugged in, unless --port or --emulate is given).")
@click.option("--voltage", type=float,
              help="Energy: volts the power monitor supplies to the DUT (default: 1.8, the "
                   "official setting).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in the same folder.")
@click.option("--overwrite", is_flag=True, help="Replace the results of an earlier run.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=5.0,
              show_default=True, help="Seconds to wait for each line of the DUT's answer.")
@click.option("--chunk-bytes", type=click.IntRange(1, 38),
              help="Bytes per `db` command (default as the official runner sends: 31, 26 "
                   "through an interface board).")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --emulate: where to compile and build (default: firmware/build/...).")
def run_command(port, board, model, mode, dataset, out, benchmark, baud, division, submitter,
                system, iterations, short_window, power, interface, voltage, resume, overwrite,
                timeout, chunk_bytes, build_dir):
    """Run the benchmark in MODE against a DUT on --port, or on an emulated one (--emulate host
    --model MODEL.tflite), and write MLPerf Tiny results. Energy mode measures with a power
    monitor (--power) and reaches a real DUT through an interface board (--interface)."""
    from tinybench import runner
    if port and board:
        raise UserError("give either --port PORT or --emulate host --model MODEL.tflite")
    if mode != "energy" and (power or interface):
        raise UserError("--power and --interface are for --mode energy")
    if interface and (port or board):
        raise UserError("--interface reaches the DUT through the interface board: leave out "
                        "--port and --emulate")
    if mode == "energy":
        from tinybench.energy.monitors import parse_power
        power = power or ("sim" if board else None)
        if power and parse_power(power).simulated != bool(board):
            raise UserError("a simulated power monitor needs the emulated DUT's reports of its "
                            "pin and activity (--emulate host), and an emulated DUT draws no "
                            "current a real monitor could measure: use --power sim or lpm01a-sim "
                            "with --emulate, lpm01a or joulescope with a real board")
    if not (port or board or interface):   # the one board plugged in, found by USB id
        from tinybench import devices
        try:
            if mode == "energy":
                interface = devices.pick_interface()
            else:
                port = devices.pick_port()
        except UserError as exc:
            raise UserError(f"give either --port PORT or --emulate host --model MODEL.tflite "
                            f"({exc})") from None
    if board and not model:
        raise UserError("--emulate needs --model MODEL.tflite")
    if model and not board:
        raise UserError("--model is for --emulate; a DUT on --port reports its own model")
    options = runner.RunOptions(
        port=port, mode=mode, dataset=dataset, out=out, baud=baud, benchmark=benchmark,
        division=division, submitter=submitter, system=system or board or "dut",
        iterations=iterations, short_window=short_window, resume=resume, overwrite=overwrite,
        chunk_bytes=chunk_bytes or _default_chunk_bytes(interface), timeout=timeout, power=power,
        interface=interface, voltage=voltage)
    if board:
        from tinybench.runner.emulated import run_emulated
        click.echo(f"compiling {model} and building the {board} DUT ...", err=True)
        result = run_emulated(options, model, board, build_dir)
    else:
        result = runner.run(options)
    for line in result.lines:
        click.echo(line)
    click.echo(f"results: {result.results_dir}")


@main.command()
@click.option("--model", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The int8 .tflite model the emulated DUT runs.")
@click.option("--board", type=click.Choice(["host", "qemu"]), default="host", show_default=True)
@click.option("--benchmark", type=click.Choice(BENCH_IDS),
              help="Follow this benchmark's conventions (default: what the model is).")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to compile and build (default: firmware/build/...).")
def emulate(model, board, benchmark, build_dir):
    """Start an emulated DUT for MODEL and print its serial port (first line of stdout) for other
    programs; it runs until interrupted (Ctrl-C)."""
    from tinybench.dut.emulate import emulated_dut
    from tinybench.dut.host import wait_until_closed
    click.echo(f"compiling {model} and building the {board} DUT ...", err=True)
    with emulated_dut(model, board, benchmark, build_dir) as dut:
        click.echo(dut.port)
        sys.stdout.flush()
        click.echo(f"emulated {board} DUT (pid {dut.pid}) serving on {dut.port}; "
                   f"Ctrl-C stops it", err=True)
        try:
            wait_until_closed(dut)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)


@main.command()
@click.argument("results", nargs=-1, required=True,
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("report"),
              show_default=True, help="Folder for report.html and plots/.")
@click.option("--no-html", is_flag=True, help="Print the tables only.")
def report(results, out, no_html):
    """Tables and an HTML report (with plots) of the results trees under RESULTS...: latency beside
    the published reference-board figures, accuracy against the quality targets, energy,
    per-layer time and host scenarios, several systems side by side."""
    from tinybench.report import make_report
    made = make_report(list(results), None if no_html else out)
    click.echo(made.text)
    if made.html_path:
        click.echo(f"\nreport: {made.html_path} ({len(made.plots)} plots)")


@main.command()
@click.argument("submission_dir", type=click.Path(path_type=Path))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("summary.csv"), show_default=True,
              help="Where to write the summary of the results found.")
def check(submission_dir, csv_path):
    """Validate a submission tree as the MLCommons MLPerf Tiny checker does; exits 1 on errors."""
    from tinybench.report import check as checker
    found = checker.check(submission_dir)
    try:
        checker.write_summary(found, csv_path)
    except OSError as exc:
        raise UserError(f"cannot write {csv_path}: {exc.strerror}") from None
    click.echo(found.text())
    if not found.ok:
        sys.exit(1)


@main.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--scenario", required=True,
              type=click.Choice(["single-stream", "multi-stream", "server", "offline"]))
@click.option("--mode", type=click.Choice(["performance", "accuracy"]), default="performance",
              show_default=True)
@click.option("--dataset", type=click.Path(file_okay=False, path_type=Path),
              help="Eval set in the MLPerf Tiny format (.bin files + y_labels.csv).")
@click.option("--random-inputs", is_flag=True,
              help="Performance mode without an eval set: random int8 inputs.")
@click.option("--system-under-test", "sut", type=click.Choice(["litert", "tflm", "compiled", "dut"]),
              default="litert", show_default=True,
              help="LiteRT, tflite-micro, tinybench's compiled C engine (host shared library), or "
                   "a DUT over serial (--port, or --emulate host|qemu).")
@click.option("--port", help="dut: the DUT's serial port (a device or a pyserial URL).")
@click.option("--emulate", type=click.Choice(["host", "qemu"]),
              help="dut: build the firmware for MODEL and run it on an emulated board.")
@click.option("--baud", type=int, help="dut: the UART rate (default: the benchmark's).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True,
              help="LoadGen's files go to OUT/<system>/<model>/hostbench-<scenario>-<mode>/.")
@click.option("--system", help="System name in the results tree (default: host-<system under test>).")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="LoadGen's minimum duration in seconds.")
@click.option("--min-queries", type=click.IntRange(min=1),
              help="LoadGen's minimum query count (default: the fewest its early stopping can "
                   "accept: 64 single-stream, 662 multi-stream and server, 1 offline).")
@click.option("--samples-per-query", type=click.IntRange(min=1), default=8, show_default=True,
              help="Multi-stream: samples per query.")
@click.option("--target-qps", type=click.FloatRange(min=0, min_open=True),
              help="Server: the Poisson arrival rate; offline: the expected rate "
                   "(default: derived from a measured latency).")
@click.option("--target-latency-ms", type=click.FloatRange(min=0, min_open=True),
              help="Server: the latency bound; multi-stream: the expected query latency "
                   "(default: derived from a measured latency).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="LiteRT interpreter threads.")
@click.option("--seed", type=int, help="LoadGen's RNG seeds (default: LoadGen's own).")
def hostbench(model, scenario, mode, dataset, random_inputs, sut, port, emulate, baud, out, system,
              duration, min_queries, samples_per_query, target_qps, target_latency_ms, threads,
              seed):
    """MLPerf Inference scenarios for MODEL (.tflite), generated and timed by MLPerf LoadGen."""
    from tinybench import hostbench as hb
    from tinybench.report import loadgen_log
    settings = hb.Settings(duration_s=duration, min_queries=min_queries, seed=seed,
                           samples_per_query=samples_per_query, target_qps=target_qps,
                           target_latency_ms=target_latency_ms, threads=threads)
    folder = hb.run(model, scenario, mode, sut, settings, dataset=dataset,
                    random_inputs=random_inputs, out=out, system=system, port=port,
                    emulate=emulate, baud=baud)
    if mode == "performance":
        summary = loadgen_log.read_summary(folder)
        click.echo(f"LoadGen {summary.scenario}: {summary.headline()}")
    else:
        click.echo((folder / loadgen_log.ACCURACY_SCORES).read_text(), nl=False)
    click.echo(f"results: {folder}")


@main.command("compile")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for model.h, model.c and the report (report.txt, report.json).")
@click.option("--name", help="Model name in model.h (default: the file name without .tflite).")
@click.option("--check", "run_check", is_flag=True,
              help="Build the C on this host and compare it, layer by layer, with the numpy "
                   "golden model and tflite-micro on random inputs.")
@click.option("--check-inputs", type=click.IntRange(min=1), default=3, show_default=True,
              help="Random inputs for --check.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def compile_command(model, out, name, run_check, check_inputs, as_json):
    """Compile an int8 MODEL (.tflite) to C99 for the firmware: OUT/model.h and OUT/model.c."""
    from tinybench.compiler import compile as compiler
    compiled = compiler.compile_model(model, out, name=name)
    click.echo(json.dumps(compiled.report, indent=2) if as_json
               else compiler.format_report(compiled.report))
    click.echo(f"wrote {out / 'model.h'} and {out / 'model.c'}", err=as_json)
    if run_check:
        result = compiler.check(model, count=check_inputs, compiled=compiled)
        click.echo(result.format(), err=as_json)
        if not result.ok:
            raise UserError("the compiled C disagrees with tflite-micro (first disagreement shown "
                            "above); this is a compiler bug: please report it with the model")


@main.command("devices")
@click.option("--json", "as_json", is_flag=True, help="Print the devices as JSON.")
def devices_command(as_json):
    """Boards, power monitors and interface boards plugged in, recognised by USB id."""
    from tinybench import devices
    found = devices.scan()
    click.echo(json.dumps(devices.as_dicts(found), indent=2) if as_json
               else devices.format_table(found))


@main.group()
def datasets():
    """The benchmarks' datasets: download, prepare, synthesize, export eval sets."""


@datasets.command("download")
@click.argument("bench")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Unpack here (default: datasets/BENCH/source).")
@click.option("--downloads", type=click.Path(file_okay=False, path_type=Path),
              default=Path("datasets/downloads"), show_default=True,
              help="Keep the archives here.")
@click.option("--from", "source", type=click.Path(file_okay=False, path_type=Path),
              help="Copy the archives from this folder instead of downloading them.")
def datasets_download(bench, out, downloads, source):
    """Fetch BENCH's official dataset archives, check them and unpack them (resumes a broken
    download)."""
    from tinybench.data import sources
    bench = _bench_arg(bench)
    dest = sources.obtain(bench, out or Path("datasets") / bench / "source", downloads, source)
    click.echo(f"{dest}  (checked and unpacked; next: tinybench datasets prepare {bench} "
               f"--source {dest})")


@datasets.command("prepare")
@click.argument("bench")
@click.option("--source", required=True, type=click.Path(path_type=Path),
              help="The raw dataset folder, in its published layout.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write the prepared arrays here (default: datasets/BENCH/prepared).")
@click.option("--seed", default=0, show_default=True, help="Seed of kws01's noise augmentation.")
def datasets_prepare(bench, source, out, seed):
    """Features and labels of every split of BENCH's dataset, ready for training and export."""
    from tinybench.data import prepare
    bench = _bench_arg(bench)
    prepared = prepare.prepare(bench, source, out or Path("datasets") / bench / "prepared", seed)
    counts = ", ".join(f"{split} {n}" for split, n in prepared.meta["splits"].items())
    click.echo(f"{prepared.folder}  ({counts})")


@datasets.command("synth")
@click.argument("bench")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--per-class", type=int, help="Training examples per class (ad01: per machine).")
@click.option("--seed", default=0, show_default=True)
def datasets_synth(bench, out, per_class, seed):
    """A synthetic, learnable dataset for BENCH in the real dataset's on-disk format."""
    from tinybench.data import synth
    bench = _bench_arg(bench)
    click.echo(f"{synth.synthesize(bench, out, per_class, seed)}  (prepare it with: tinybench "
               f"datasets prepare {bench} --source {out})")


@datasets.command("export-eval")
@click.argument("bench")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path),
              help="A prepared dataset (default: datasets/BENCH/prepared).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--count", type=int, help="Inputs to export (default: the official count).")
@click.option("--select", type=click.Path(dir_okay=False, path_type=Path),
              help="Export exactly the files this y_labels.csv lists (e.g. the official list).")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path),
              help="kws01: take the input scale and zero point from this int8 .tflite "
                   "(default: the official model's).")
def datasets_export_eval(bench, data, out, count, select, model):
    """Write an MLPerf Tiny eval set (.bin files and y_labels.csv) for BENCH."""
    from tinybench.data import export
    bench = _bench_arg(bench)
    scale = zero_point = None
    if model is not None:
        from tinybench.tflite import read_graph
        tensor = read_graph(model).input
        scale, zero_point = float(tensor.scale[0]), int(tensor.zero_point[0])
    labels = export.export_eval(bench, data or Path("datasets") / bench / "prepared", out, count,
                                select, scale, zero_point)
    click.echo(f"{labels}  ({sum(1 for _ in open(labels))} inputs)")


@main.command()
@click.argument("bench")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Training config (default: models/BENCH.yaml).")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path),
              help="A prepared (or raw) dataset folder (default: datasets/BENCH/prepared).")
@click.option("--synthetic", is_flag=True, help="Train on a synthetic set written to OUT/synthetic.")
@click.option("--per-class", type=int, help="--synthetic: examples per class.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Checkpoints, history and the model (default: runs/BENCH/train).")
@click.option("--quick", is_flag=True, help="Apply the config's quick: settings (short run, small data).")
@click.option("--epochs", type=int, help="Override the config's epoch limit.")
@click.option("--batch-size", type=int, help="Override the config's batch size.")
@click.option("--max-steps", type=int,
              help="Stop after this many training steps; the epoch in progress ends there "
                   "(run again to continue).")
@click.option("--strategy", type=click.Choice(["default", "mirrored", "multiworker"]),
              default="default", show_default=True, help="tf.distribute strategy.")
@click.option("--seed", default=0, show_default=True)
@click.option("--fresh", is_flag=True, help="Discard a previous run in OUT instead of resuming it.")
def train(bench, config_path, data, synthetic, per_class, out, quick, epochs, batch_size,
          max_steps, strategy, seed, fresh):
    """Train BENCH's reference architecture until the quality target or the epoch limit; reports
    time-to-target and resumes from OUT's checkpoint."""
    from tinybench import train as trainer
    bench = _bench_arg(bench)
    out = out or Path("runs") / bench / "train"
    summary = trainer.train(bench, out, data=data, synthetic=synthetic, config_path=config_path,
                            epochs=epochs, max_steps=max_steps, strategy=strategy, seed=seed,
                            per_class=per_class, quick=quick, batch_size=batch_size, fresh=fresh,
                            log=lambda text: click.echo(text, err=True))
    click.echo(trainer.format_summary(summary, out))


@main.command()
@click.option("--emulate", type=click.Choice(["host", "qemu"]),
              help="Run on an emulated board (default host, unless --port is given).")
@click.option("--port", help="A real board's serial port (a device path or pyserial URL).")
@click.option("--board", type=click.Choice(["nucleo-l4r5zi"]),
              help="With --port: build each benchmark's firmware for this board and flash it "
                   "(make flash). Without it the board must already run the right firmware.")
@click.option("--benchmarks", "bench_ids", default=",".join(BENCH_IDS), show_default=True,
              help="Comma-separated benchmarks to run.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path),
              help="A folder with one dataset folder per benchmark (raw or prepared).")
@click.option("--synthetic", is_flag=True,
              help="Train and evaluate on synthetic data in the real formats (no download).")
@click.option("--models", "models_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Use the int8 models <bench>.tflite in this folder instead of training "
                   "(for instance the official ones: tinybench models download).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/suite"),
              show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), help="Override the configs' epochs.")
@click.option("--quick", is_flag=True, help="The configs' quick: settings (small data; implied "
                                            "by --synthetic).")
@click.option("--short-window", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Performance windows of SECONDS instead of 10 s (results not valid).")
@click.option("--power", help="Also run energy mode with this monitor (lpm01a[:PORT], "
                              "joulescope, sim).")
@click.option("--no-layers", is_flag=True, help="Skip the per-layer profile.")
def suite(emulate, port, board, bench_ids, data, synthetic, models_dir, out, epochs, quick,
          short_window, power, no_layers):
    """The whole flow for each benchmark: train (or take --models), quantize, compile, build,
    run performance and accuracy (and energy with --power), report and check."""
    from tinybench.suite import SuiteOptions, run_suite
    if port and emulate:
        raise UserError("give either --port or --emulate")
    outcomes = run_suite(SuiteOptions(
        out=out, benchmarks=[_bench_arg(b.strip()) for b in bench_ids.split(",") if b.strip()],
        emulate=None if port else (emulate or "host"), port=port, board=board, data=data,
        synthetic=synthetic,
        models=models_dir, epochs=epochs, quick=quick or synthetic, short_window=short_window,
        power=power, layers=not no_layers, log=click.echo))
    if any(o.error for o in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
