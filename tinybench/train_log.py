"""The MLPerf training log of a `tinybench train` run, written with MLPerf's own `mllog`
(PyPI `mlperf-logging`), and its check with MLPerf's compliance checker against the ruleset for
the tiny workloads kept beside it (tinybench/training_rules/mlperf_tiny.yaml).

The log holds the `:::MLLOG {...}` lines of MLPerf Training: the submission's benchmark, division,
organisation, status and platform; init_start / init_stop; run_start; the hyperparameters under
MLPerf's keys (global_batch_size, opt_name, opt_base_learning_rate, seed, train_samples,
eval_samples); epoch_start / epoch_stop and eval_accuracy per epoch (with its epoch_num); and
run_stop with status success when the quality target was reached, aborted when not.
"""
from __future__ import annotations

import logging
import platform
from pathlib import Path

from tinybench.errors import UserError

LOG_FILE = "mllog.txt"
RULES = Path(__file__).resolve().parent / "training_rules" / "mlperf_tiny.yaml"
PARSER_RULESET = "6.1.0"   # the mlperf_logging parser version our lines follow


def _mllog():
    """mllog's constants and its logger class."""
    try:
        from mlperf_logging.mllog import constants
        from mlperf_logging.mllog.mllog import MLLogger
    except ImportError:   # pragma: no cover - depends on the install
        raise UserError("the training log needs mlperf-logging: pip install 'tinybench[train]'") \
            from None
    return constants, MLLogger


class TrainingLog:
    """One run's mllog file. Each instance has its own Python logger, so that several runs in
    one process (`--seeds N`, the tests) never write into each other's files."""

    def __init__(self, path: Path, append: bool = False):
        self.constants, logger_class = _mllog()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._logger = logging.getLogger(f"tinybench.mllog.{id(self)}")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        self._handler = logging.FileHandler(self.path, mode="a" if append else "w")
        self._logger.addHandler(self._handler)
        self._mllog = logger_class(logger=self._logger)

    def event(self, key: str, value=None, **metadata) -> None:
        self._mllog.event(key=key, value=value, metadata=metadata or None, stack_offset=1)

    def start(self, key: str, value=None, **metadata) -> None:
        self._mllog.start(key=key, value=value, metadata=metadata or None, stack_offset=1)

    def end(self, key: str, value=None, **metadata) -> None:
        self._mllog.end(key=key, value=value, metadata=metadata or None, stack_offset=1)

    def submission(self, benchmark: str, division: str = "closed", org: str = "tinybench",
                   status: str = "research") -> None:
        c = self.constants
        self.event(c.SUBMISSION_BENCHMARK, benchmark)
        self.event(c.SUBMISSION_DIVISION, division)
        self.event(c.SUBMISSION_ORG, org)
        self.event(c.SUBMISSION_STATUS, status)
        self.event(c.SUBMISSION_PLATFORM,
                   f"{platform.machine()} {platform.processor() or platform.system()}".strip())

    def hyperparameters(self, *, batch_size: int, optimizer: str, learning_rate: float,
                        seed: int, train_samples: int, eval_samples: int, epochs: int) -> None:
        c = self.constants
        self.event(c.GLOBAL_BATCH_SIZE, batch_size)
        self.event(c.OPT_NAME, optimizer)
        self.event(c.OPT_BASE_LR, learning_rate)
        self.event(c.SEED, seed)
        self.event(c.TRAIN_SAMPLES, train_samples)
        self.event(c.EVAL_SAMPLES, eval_samples)
        self.event("epoch_count", epochs)

    def epoch(self, epoch_num: int, quality: float, started: bool = True) -> None:
        """epoch_start (unless already logged), epoch_stop and eval_accuracy of an epoch
        numbered from 1."""
        c = self.constants
        if not started:
            self.start(c.EPOCH_START, epoch_num=epoch_num)
        self.end(c.EPOCH_STOP, epoch_num=epoch_num)
        self.event(c.EVAL_ACCURACY, quality, epoch_num=epoch_num)

    def run_stop(self, reached_target: bool) -> None:
        c = self.constants
        self.end(c.RUN_STOP, status=c.SUCCESS if reached_target else c.ABORTED)

    def close(self) -> None:
        self._handler.close()
        self._logger.removeHandler(self._handler)


def check(path: Path) -> tuple[bool, str]:
    """MLPerf's compliance checker on the log, with our ruleset: (passed, its messages)."""
    _mllog()
    from mlperf_logging.compliance_checker import mlp_compliance
    checker = mlp_compliance.make_checker("training", PARSER_RULESET, quiet=False, werror=False)
    root = logging.getLogger()
    captured: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            captured.append(record.getMessage())
    handler = Keep(logging.INFO)
    root.addHandler(handler)
    try:
        valid, *_ = mlp_compliance.main(str(path), str(RULES), checker)
    finally:
        root.removeHandler(handler)
    return bool(valid), "\n".join(captured)


def time_to_train(seconds: list[float | None]) -> tuple[float | None, str]:
    """Time to target over several seeded runs, as MLPerf Training scores it: drop the fastest and
    the slowest run, then the mean of the rest, where a run that missed the target counts as
    infinitely slow (so one such run can be dropped as the slowest; two cannot). Returns (score
    or None, how it was reached)."""
    if not seconds:
        return None, "no runs"
    times = sorted(float("inf") if s is None else float(s) for s in seconds)
    missed = sum(1 for s in seconds if s is None)
    kept = times[1:-1] if len(times) >= 3 else times
    rule = ("mean of the runs without the fastest and the slowest" if len(times) >= 3
            else f"mean of all {len(times)} runs (fewer than 3: none dropped)")
    if any(t == float("inf") for t in kept):
        return None, f"{missed} of {len(times)} runs missed the target: no score ({rule})"
    return sum(kept) / len(kept), rule
