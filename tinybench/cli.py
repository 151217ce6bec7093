"""The `tinybench` command: one thin command per stage of the flow. Logic lives in the modules;
heavy imports (TensorFlow, tflite-micro) happen inside the commands that need them."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tinybench import __version__
from tinybench.errors import UserError

BENCH_IDS = ("kws01", "vww01", "ic01", "ad01")


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
    from tinybench import benchmarks
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
              help="An eval-set folder in the MLPerf format (.bin files + y_labels.csv) or a "
                   ".npy/.npz of float model inputs.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="The int8 .tflite file to write.")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Calibration inputs to use, spread over the source (default: kws01 120, "
                   "vww01 11, ic01 500, ad01 1000).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def quantize(bench, model_path, calibration, out, samples, as_json):
    """Post-training full-int8 quantization of a float model of BENCH."""
    from tinybench import quantize as quantizer
    summary = quantizer.quantize(_bench_arg(bench), model_path, calibration, out, samples)
    click.echo(json.dumps(summary, indent=2) if as_json else quantizer.format_summary(summary))


if __name__ == "__main__":
    main()
