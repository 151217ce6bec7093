"""From a `--power` value to a ready power monitor.

    lpm01a[:PORT]   an LPM01A PowerShield (PORT found by USB id when left out)
    joulescope      a Joulescope JS110/JS220 (needs the optional joulescope package)
    lpm01a-sim      a simulated LPM01A on a pty, driven through the real LPM01A client
    sim             a simulated monitor without wire protocol

The two simulated ones measure a power model of the DUT, which needs the DUT's own reports of
its timestamp pulses and busy/idle changes: only the host board gives them (it takes the
arguments in MonitorSession.dut_arguments on its command line). Everything they measure is
labelled simulated.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from tinybench.energy.monitor import PowerMonitor
from tinybench.errors import UserError

KINDS = ("lpm01a", "joulescope", "lpm01a-sim", "sim")
SIMULATED_KINDS = ("lpm01a-sim", "sim")


@dataclass(frozen=True)
class PowerSpec:
    kind: str
    port: str | None = None

    @property
    def simulated(self) -> bool:
        return self.kind in SIMULATED_KINDS


def parse_power(text: str) -> PowerSpec:
    kind, _, port = text.strip().partition(":")
    kind = kind.lower()
    if kind not in KINDS:
        raise UserError(f"unknown power monitor {text!r}: use one of lpm01a[:PORT], joulescope, "
                        f"lpm01a-sim, sim")
    if port and kind != "lpm01a":
        raise UserError(f"--power {kind} takes no port (only lpm01a:PORT does)")
    return PowerSpec(kind, port or None)


class LogRelay:
    """The log callback handed to a monitor before the run's log file exists: lines are kept
    until a target is set, then passed on."""

    def __init__(self):
        self.target: Callable[[str], None] | None = None
        self.kept: list[str] = []

    def __call__(self, line: str) -> None:
        if self.target is None:
            self.kept.append(line)
        else:
            self.target(line)

    def to(self, target: Callable[[str], None]) -> None:
        self.target = target
        for line in self.kept:
            target(line)
        self.kept.clear()


@dataclass
class MonitorSession:
    """A monitor plus whatever runs behind it (a simulator, the DUT-signal reader)."""
    monitor: PowerMonitor
    spec: PowerSpec
    dut_arguments: list[str] = field(default_factory=list)
    _closers: list[Callable[[], None]] = field(default_factory=list)
    log: LogRelay = field(default_factory=LogRelay)

    @property
    def simulated(self) -> bool:
        return self.spec.simulated or self.monitor.simulated

    def close(self) -> None:
        try:
            self.monitor.teardown()
        finally:
            for close in reversed(self._closers):
                close()

    def __enter__(self) -> "MonitorSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_monitor(power: str | None, board: str | None = None, **options) -> MonitorSession:
    """The monitor --power names (found by USB id when None), not yet set up. `board` picks the
    power profile of a simulated monitor. Options go to the monitor class (timeouts, faults).
    The monitor logs through session.log: call session.log.to(callback) to receive its lines."""
    log = LogRelay()
    if power is None:
        from tinybench import devices
        power = devices.pick_power()
    spec = parse_power(power)
    if spec.kind == "lpm01a":
        from tinybench import devices
        from tinybench.energy.lpm01a import Lpm01a
        port = spec.port or devices.pick_power().partition(":")[2]
        if not port:
            raise UserError("the power monitor found is not an LPM01A: pass --power lpm01a:PORT")
        return MonitorSession(Lpm01a(port, log=log, **options), spec, log=log)
    if spec.kind == "joulescope":
        from tinybench.energy.joulescope_monitor import Joulescope
        return MonitorSession(Joulescope(log=log, **options), spec, log=log)

    from tinybench.energy.dut_signals import DutSignals, require_fifo_support
    from tinybench.energy.power_model import PowerModel, profile_for_board
    require_fifo_support()
    model = PowerModel(profile_for_board(board))
    signals = DutSignals(model.record, log=log)
    closers = [signals.close]
    try:
        if spec.kind == "sim":
            from tinybench.energy.simulated import SimulatedMonitor
            monitor = SimulatedMonitor(model, sync=signals.sync)
        else:
            from tinybench.energy.lpm01a import Lpm01a
            from tinybench.energy.lpm01a_sim import Lpm01aSimulator
            faults = options.pop("faults", None)
            simulator = Lpm01aSimulator(model, faults=faults, sync=signals.sync, log=log).start()
            closers.append(simulator.close)
            options.setdefault("power_on_settle", 0)   # it powers nothing: no boot to wait for
            monitor = Lpm01a(simulator.port, log=log, **options)
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    return MonitorSession(monitor, spec, signals.dut_arguments(), closers, log)
