"""Reading results trees: what `tinybench run`, the energy mode and `tinybench hostbench` wrote.

A results tree holds test folders `<system>/<model>/<test>/results.txt`, where <test> is one of
accuracy, performance, energy (the MLPerf Tiny submission layout, usually under
`<division>/<submitter>/results/`), layers (per-layer profile) or hostbench-<scenario>-<mode> (LoadGen's files). Any folder
above a test folder may be given: every results.txt below it is found.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tinybench import benchmarks
from tinybench.errors import UserError
from tinybench.report import formats, loadgen_log
from tinybench.report.layers import TEST_DIR as LAYERS_DIR
from tinybench.report.layers import Layer, read_layers

OFFICIAL_TESTS = ("accuracy", "performance", "energy")
HOSTBENCH_PREFIX = loadgen_log.TEST_PREFIX


def benchmark_of(model_dir_name: str) -> benchmarks.Benchmark | None:
    """The benchmark a model folder holds: `kws` (submission name) or `kws01` (id)."""
    for b in benchmarks.BENCHMARKS.values():
        if model_dir_name in (b.submission_name, b.id):
            return b
    return None


@dataclass
class ModelResult:
    system: str
    model: str                      # the model folder's name
    path: Path
    benchmark: benchmarks.Benchmark | None
    throughput: float | None = None  # inferences per second (median of the windows)
    throughput_valid: bool = False   # from the checker's line, with no run-rule error
    accuracy: float | None = None    # in the benchmark's quality metric (Top-1 % or AUC)
    energy_uj: float | None = None   # per inference
    instructions: int | None = None  # per inference, on a DUT whose clock counts instructions
    macs_per_instruction: float | None = None
    energy_valid: bool = False       # from the checker's line, with no run-rule error
    layers: list[Layer] | None = None
    hostbench: list[loadgen_log.HostbenchRun] = field(default_factory=list)
    run_errors: list[str] = field(default_factory=list)       # "performance: ERROR 1 - ..."
    notes: list[str] = field(default_factory=list)            # the runs' "Note: ..." lines

    @property
    def key(self) -> str:
        """What rows are grouped by: the benchmark id where known, else the folder name."""
        return self.benchmark.id if self.benchmark else self.model

    @property
    def latency_ms(self) -> float | None:
        """Latency per inference, as the official final report derives it from throughput."""
        return 1000.0 / self.throughput if self.throughput else None

    def hostbench_runs(self) -> list[loadgen_log.HostbenchRun]:
        """The host scenario runs, in the scenarios' order."""
        return sorted(self.hostbench, key=lambda run: run.rank)

    @property
    def meets_target(self) -> bool | None:
        if self.accuracy is None or self.benchmark is None:
            return None
        return self.accuracy >= self.benchmark.quality_target


@dataclass
class SystemResults:
    name: str
    path: Path
    models: dict[str, ModelResult] = field(default_factory=dict)  # keyed by ModelResult.key


def _read_test(result: ModelResult, test: str, folder: Path) -> None:
    if test.startswith(HOSTBENCH_PREFIX):
        try:
            result.hostbench.append(loadgen_log.read_run(folder))
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(f"cannot read the hostbench results in {folder}: {exc}; run "
                            f"`tinybench hostbench` again") from None
        return
    lines = formats.read_lines(folder / "results.txt")
    result.run_errors += [f"{test}: {line}" for line in formats.run_rule_errors(lines)]
    for line in lines:
        note = formats.NOTE.match(line)
        if note and note.group(1) not in result.notes:
            result.notes.append(note.group(1))
    if test == "performance":
        result.throughput = formats.last_number(lines, formats.THROUGHPUT)
        result.throughput_valid = (result.throughput is not None
                                   and not formats.run_rule_errors(lines))
        if result.throughput is None:  # a run outside the rules: the median of its windows
            result.throughput = _median_of_windows(folder / "results.json")
        for line in lines:
            match = formats.INSTRUCTIONS.match(line)
            if match:
                result.instructions = int(match.group(1).replace(",", ""))
        result.macs_per_instruction = formats.last_number(lines, formats.MACS_PER_INSTRUCTION)
    elif test == "accuracy":
        metric = result.benchmark.quality_metric if result.benchmark else None
        patterns = [formats.ACCURACY[metric]] if metric else [formats.TOP1, formats.AUC]
        for pattern in patterns:
            value = formats.last_number(lines, pattern)
            if value is not None:
                result.accuracy = value
                break
    elif test == "energy":
        result.energy_uj = formats.last_number(lines, formats.ENERGY, search=True)
        result.energy_valid = (result.energy_uj is not None
                               and not formats.run_rule_errors(lines))
        if result.energy_uj is None:
            result.energy_uj = formats.last_number(lines, formats.ENERGY_OUTSIDE_RULES,
                                                   search=True)
    elif test == LAYERS_DIR:
        result.layers = read_layers(folder)


def _median_of_windows(path: Path) -> float | None:
    """The median window throughput from a runner's results.json (its per-step records)."""
    from tinybench.runner.scoring import median_throughput
    try:
        steps = [s for s in json.loads(path.read_text()) if isinstance(s, dict) and "infer" in s]
        return median_throughput(steps) if steps else None
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
        return None


def _is_test(name: str) -> bool:
    return name in OFFICIAL_TESTS or name == LAYERS_DIR or name.startswith(HOSTBENCH_PREFIX)


def _label(system_dir: Path) -> str:
    """`<submitter>/<system>` in a submission layout, `<parent>/<system>` elsewhere."""
    parent = system_dir.parent
    owner = parent.parent if parent.name == "results" else parent
    return f"{owner.name}/{system_dir.name}"


def load(paths: list[Path]) -> list[SystemResults]:
    """Every system found below the given folders, in the order found (sorted within a folder)."""
    test_dirs: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            raise UserError(f"{path} is not a folder: give the folder `tinybench run` or "
                            f"`tinybench hostbench` wrote its results to")
        found = sorted(p.parent for p in path.rglob("results.txt") if _is_test(p.parent.name))
        found += sorted(p.parent for p in path.rglob(loadgen_log.RECORD)
                        if p.parent.name.startswith(HOSTBENCH_PREFIX))
        if not found:
            raise UserError(f"no results found under {path}: expected "
                            f"<system>/<model>/<test>/results.txt (or hostbench.json) with <test> one of "
                            f"{', '.join(OFFICIAL_TESTS)}, {LAYERS_DIR} or hostbench-<scenario>-<mode>")
        test_dirs += [d for d in found if d not in test_dirs]

    system_dirs = list(dict.fromkeys(d.parent.parent.resolve() for d in test_dirs))
    names = Counter(d.name for d in system_dirs)
    systems = {d: SystemResults(d.name if names[d.name] == 1 else _label(d), d)
               for d in system_dirs}
    for test_dir in test_dirs:
        model_dir = test_dir.parent
        system = systems[model_dir.parent.resolve()]
        bench = benchmark_of(model_dir.name)
        key = bench.id if bench else model_dir.name
        result = system.models.setdefault(
            key, ModelResult(system.name, model_dir.name, model_dir, bench))
        _read_test(result, test_dir.name, test_dir)
    return list(systems.values())


def benchmark_order(systems: list[SystemResults]) -> list[str]:
    """Row order for tables and plots: the registry's benchmarks first, then other models."""
    keys = list(dict.fromkeys(k for s in systems for k in s.models))
    known = [b for b in benchmarks.BENCHMARKS if b in keys]
    return known + sorted(k for k in keys if k not in known)
