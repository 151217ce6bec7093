"""Energy mode, by the run rules: 5 windows on the first 5 inputs (ad01: their first window), each
`infer N W` lasting at least 10 s, measured by a power monitor (tinybench/energy). The DUT runs
energy-mode firmware: it prints no timestamps but pulses its timestamp pin before and after the
timed inferences, and the monitor places those two events in its trace. A window's energy is the
energy between them; the result is the median energy per inference, in uJ.

N comes from a calibration inference timed on the host (the DUT has no clock output in energy
mode) unless given; a window that comes out short is run again, longer, as in performance mode. A
window whose trace lost samples or events is measured again; one that still fails stops the run.
Each window's power trace is plotted next to the results (energy_inf_000.png ...).

A shorter window may be asked for by name (--short-window); the results then say that they are not
valid for submission, as they do for a simulated monitor.
"""
from __future__ import annotations

import time
from pathlib import Path

from tinybench.benchmarks import BENCHMARKS, MIN_WINDOW_SECONDS, PERFORMANCE_WINDOWS
from tinybench.data import evalset
from tinybench.dut.protocol import DutClient, DutGarbled, parse_results
from tinybench.energy import results as energy_results
from tinybench.energy.monitor import DataLost
from tinybench.energy.monitors import MonitorSession, open_monitor
from tinybench.errors import UserError
from tinybench.progress import progress_bar
from tinybench.runner import performance
from tinybench.runner.context import RunContext

ENERGY_WINDOWS = PERFORMANCE_WINDOWS
"""The energy rules ask for the same five windows as performance (the official test scripts loop
5 times in both modes)."""
DEFAULT_VOLTAGE = 1.8
"""Volts the monitor supplies to the DUT (the official device files' LPM01A setting)."""
WINDOW_ATTEMPTS = 3          # measurements of a window whose trace lost data, before giving up
EVENTS_PER_WINDOW = 2        # the pulses before and after the timed inferences
CALIBRATION_MIN_SECONDS = 0.2
CALIBRATION_TIMEOUT = 60.0


def energy_bauds() -> list[int]:
    """The DUT baud rates energy mode uses (the official one of every benchmark)."""
    return list(dict.fromkeys(b.baud_energy for b in BENCHMARKS.values()))


def open_session(power: str | None, board: str | None = None) -> MonitorSession:
    """The power monitor --power names; start it before an emulated DUT, which takes
    session.dut_arguments."""
    return open_monitor(power, board)


def board_opener(interface: str, log):
    """open_handle for exchange.connect: the DUT behind the interface board on `interface`, its
    DUT-side UART set to the baud rate asked for."""
    from tinybench.energy.interface_board import InterfaceBoard

    def open_handle(_port: str, baud: int):
        board = InterfaceBoard(interface, log=log)
        log(f"interface board on {interface}: {board.name()!r}")
        board.set_baud(baud)
        return board.passthrough()
    return open_handle


def check_energy_firmware(client: DutClient) -> None:
    """In energy mode `timestamp` answers nothing (it pulses the pin); performance firmware
    prints m-lap-us. Sent before the first window, so its pulse is in no window's trace."""
    lines = client.command("timestamp")
    if any(line.startswith("m-lap-us-") for line in lines):
        raise UserError("the DUT runs performance-mode firmware (it prints m-lap-us timestamps): "
                        "energy mode needs the energy-mode build (make ... ENERGY=1), which pulses "
                        "the timestamp pin instead")


def infer_energy(client: DutClient, iterations: int, warmups: int, timeout: float) -> list[float]:
    """`infer N W` on energy-mode firmware: its answer has no m-lap-us lines."""
    text = f"infer {iterations} {warmups}"
    lines = client.command(text, timeout)
    expected = [f"m-warmup-start-{warmups}", "m-warmup-done", f"m-infer-start-{iterations}",
                "m-infer-done"]
    if any(line.startswith("m-lap-us-") for line in lines):
        raise UserError("the DUT printed m-lap-us timestamps: it runs performance-mode firmware, "
                        "not the energy-mode build")
    values = parse_results(lines[-1]) if len(lines) == 5 and lines[:4] == expected else None
    if values is None:
        raise DutGarbled(f"unexpected answer to '{text}': {lines!r}")
    return values


def calibrate(ctx: RunContext, data: bytes) -> float:
    """Seconds per inference, timed on the host around `infer N 0` (so slightly long: the serial
    exchange is included, and a short window is run again anyway)."""
    def measure(count):
        ctx.client.load(data, ctx.chunk_bytes)
        started = time.monotonic()
        values = infer_energy(ctx.client, count, 0, CALIBRATION_TIMEOUT)
        elapsed = time.monotonic() - started
        ctx.check_results(values, f"infer {count} 0")
        return elapsed

    count, elapsed = performance.calibration_run(ctx, measure, CALIBRATION_MIN_SECONDS)
    seconds = elapsed / count
    ctx.output.log(f"calibration: {count} inference(s) in {elapsed:.4f} s on the host's clock, "
                   f"{seconds * 1e3:.4f} ms each")
    return seconds


def run(ctx: RunContext, dataset: Path, entries: list[evalset.EvalEntry], session: MonitorSession,
        iterations: int | None = None, short_window: float | None = None) -> list[str]:
    window_seconds = short_window if short_window is not None else MIN_WINDOW_SECONDS
    warmups = ctx.bench.energy.warmups if ctx.bench else performance.DEFAULT_WARMUPS
    inputs = performance.window_inputs(ctx, dataset, entries)
    label = "SIMULATED " if session.simulated else ""
    ctx.output.log(f"power monitor: {label}{session.spec.kind} ({type(session.monitor).__name__})")
    done = {s["window"] for s in ctx.output.steps}
    if len(done) < ENERGY_WINDOWS:
        check_energy_firmware(ctx.client)
        per_inference = calibrate(ctx, inputs[0][1])
        count = performance.first_count(ctx, iterations, window_seconds, per_inference)
        with progress_bar(total=ENERGY_WINDOWS, initial=len(done), desc=f"{ctx.name} energy",
                          unit="window") as bar:
            ctx.bar = bar
            for window in range(1, ENERGY_WINDOWS + 1):
                if window in done:
                    continue
                entry, data = inputs[window - 1]

                def measure(count, per_inference):
                    found = _window(ctx, session, window, data, count, warmups, per_inference)
                    return found, found[2].elapsed
                (values, trace, measured), count, per_inference = performance.long_enough_window(
                    ctx, window, measure, count, per_inference, window_seconds,
                    fixed_count=iterations is not None)
                plot = energy_results.plot_window(
                    trace, measured, ctx.output.dir / f"energy_inf_{window - 1:03d}.png",
                    f"{ctx.name} energy window {window}: {trace.monitor}")
                ctx.output.record(dict(
                    ctx.truth(entry, 1), window=window, mode="e",
                    infer=dict(results=values, iterations=count, warmups=warmups,
                               total_inferences=len(values),
                               elapsed_time=int(round(measured.elapsed * 1e6))),
                    energy=dict(elapsed=measured.elapsed, energy=measured.energy,
                                iterations=measured.iterations,
                                start_index=measured.start_index, end_index=measured.end_index,
                                energy_per_inference_uj=measured.energy_per_inference * 1e6,
                                plot=plot.name),
                    power=energy_results.trace_record(trace)))
                bar.update(1)
            ctx.bar = None
    return summary_lines(ctx, window_seconds, short_window is not None, session)


def _window(ctx, session, window, data, count, warmups, per_inference):
    """Load the input, then measure one `infer` with the monitor; a trace that lost data is
    measured again."""
    monitor = session.monitor
    text = f"infer {count} {warmups}"
    timeout = performance.window_timeout(ctx, count, warmups, per_inference)
    problem = None
    for attempt in range(1, WINDOW_ATTEMPTS + 1):
        ctx.steps.run(f"energy window {window} (load)",
                      lambda: ctx.client.load(data, ctx.chunk_bytes))
        monitor.start()

        def exchange():
            values = infer_energy(ctx.client, count, warmups, timeout)
            ctx.check_results(values, text)
            return values
        try:
            values = ctx.steps.run(f"energy window {window}", exchange)
        finally:
            try:
                trace = monitor.stop()
            except DataLost as exc:
                trace, problem = None, exc
        if trace is not None:
            for note in trace.notes:
                ctx.warn(f"energy window {window}: {note}")
            try:
                return values, trace, energy_results.measure_window(trace, count,
                                                                    EVENTS_PER_WINDOW)
            except DataLost as exc:
                problem = exc
        if attempt < WINDOW_ATTEMPTS:
            ctx.warn(f"energy window {window}: {problem}; measuring it again "
                     f"({attempt}/{WINDOW_ATTEMPTS - 1})")
    raise UserError(f"energy window {window} could not be measured {WINDOW_ATTEMPTS} times, "
                    f"last: {problem}. Completed windows are kept: rerun with --resume")


def summary_lines(ctx: RunContext, window_seconds: float, short: bool,
                  session: MonitorSession) -> list[str]:
    steps = sorted(ctx.output.steps, key=lambda s: s["window"])
    windows = [energy_results.WindowEnergy(
        iterations=s["energy"]["iterations"], elapsed=s["energy"]["elapsed"],
        energy=s["energy"]["energy"], start_index=s["energy"]["start_index"],
        end_index=s["energy"]["end_index"]) for s in steps]
    simulated = session.simulated or any(s["power"]["simulated"] for s in steps)
    monitors = list(dict.fromkeys(s["power"]["monitor"] for s in steps)) or [session.spec.kind]
    problems = [f"windows of {window_seconds:g} s were asked for (--short-window)"] if short else []
    lines = energy_results.summary_lines(windows, ENERGY_WINDOWS, MIN_WINDOW_SECONDS, simulated,
                                         "; ".join(monitors), problems)
    median = energy_results.median_energy_uj(windows) if windows else None
    ctx.summary.update(median_energy_uj=median, windows=len(windows), simulated=simulated,
                       power_monitor="; ".join(monitors),
                       valid_for_submission=not any(line.startswith("ERROR") for line in lines))
    return lines


def start_session(options, monitor: MonitorSession | None, log) -> MonitorSession:
    """The run's power monitor, set up (for an LPM01A: configured, and the DUT powered on)."""
    session = monitor or open_session(options.power)
    session.log.to(log)
    try:
        session.monitor.setup(options.voltage or DEFAULT_VOLTAGE)
    except BaseException:
        if monitor is None:
            session.close()
        raise
    return session


def dut_line(options, log):
    """(port, baud, open_handle) for exchange.connect in energy mode: through the interface board
    when there is one, else straight to --port; at the energy-mode baud rate."""
    baud = options.baud or energy_bauds()[0]
    if options.interface:
        return options.interface, baud, board_opener(options.interface, log)
    return options.port, baud, None
