"""Reading the files MLPerf LoadGen writes (mlperf_log_summary.txt, mlperf_log_accuracy.json):
what `tinybench hostbench` leaves in a test folder, and what `tinybench report` shows of it.

The summary is a list of `key : value` lines under `====` banners; the verdict is the line
`Result is : VALID` (or INVALID), followed by which of its conditions were met.
"""
from __future__ import annotations

import re
import json
from dataclasses import dataclass, field
from pathlib import Path

SUMMARY = "mlperf_log_summary.txt"
RECORD = "hostbench.json"          # what `tinybench hostbench` ran, beside LoadGen's files
ACCURACY_SCORES = "accuracy.txt"   # an accuracy run's scores, in results.txt lines
TEST_PREFIX = "hostbench-"         # test folders: hostbench-<scenario>-<mode>
SCENARIOS = ("single-stream", "multi-stream", "server", "offline")
DETAIL = "mlperf_log_detail.txt"
ACCURACY_LOG = "mlperf_log_accuracy.json"

_LINE = re.compile(r"^\s*([^:=][^:]*?)\s*:\s*(.*?)\s*$")
_PERCENTILE = re.compile(r"^(\d+(?:\.\d+)?) percentile latency \(ns\)$")


@dataclass
class Summary:
    scenario: str
    mode: str
    valid: bool | None                       # None in accuracy mode (LoadGen gives no verdict)
    values: dict[str, str] = field(default_factory=dict)   # every `key : value` line

    def number(self, key: str) -> float | None:
        try:
            return float(self.values[key])
        except (KeyError, ValueError):
            return None

    def percentiles_ms(self) -> dict[str, float]:
        """{"p50": ms, "p90": ..., "p99": ...} from the summary's percentile lines."""
        found = {}
        for key, value in self.values.items():
            match = _PERCENTILE.match(key)
            if match:
                name = f"p{float(match.group(1)):g}"
                try:
                    found[name] = float(value) / 1e6
                except ValueError:
                    pass
        return found

    def headline(self) -> str:
        """The scenario's own result, as MLPerf Inference states it."""
        if self.scenario == "Offline":
            value, unit = self.number("Samples per second"), "samples/s"
        elif self.scenario == "Server":
            value, unit = self.number("Completed samples per second"), "samples/s completed"
        else:
            key = next((k for k in self.values if k.endswith("percentile latency (ns)")
                        and k[0].isdigit() and "th" in k), None)
            value = self.number(key) / 1e6 if key and self.number(key) is not None else None
            unit = f"ms {key.split(' ')[0]} latency" if key else ""
        verdict = {True: "VALID", False: "INVALID", None: "accuracy run"}[self.valid]
        return f"{verdict}, {value:,.3f} {unit}" if value is not None else verdict


def read_summary(folder: Path) -> Summary:
    """The summary LoadGen wrote in folder; OSError / ValueError when it is missing or not one."""
    text = (Path(folder) / SUMMARY).read_text()
    values = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            values.setdefault(match.group(1), match.group(2))
    if "Scenario" not in values and "No errors encountered during test." not in text:
        raise ValueError(f"{Path(folder) / SUMMARY} is not a LoadGen summary")
    result = values.get("Result is")   # an accuracy run's summary has no verdict, no figures
    return Summary(values.get("Scenario", ""), values.get("Mode", "AccuracyOnly"),
                   None if result is None else result == "VALID", values)


@dataclass
class HostbenchRun:
    """One hostbench test folder: its record and, for a performance run, LoadGen's summary."""
    folder: Path
    record: dict
    summary: Summary | None

    @property
    def rank(self) -> tuple:
        scenario = self.record.get("scenario")
        return (SCENARIOS.index(scenario) if scenario in SCENARIOS else len(SCENARIOS),
                self.record.get("mode", ""))

    def result_text(self) -> str:
        if self.record.get("mode") == "accuracy":
            acc = self.record.get("accuracy") or {}
            parts = [f"Top-1 {acc['top1']:.1f} %" if acc.get("top1") is not None else None,
                     f"AUC {acc['auc']:.3f}" if acc.get("auc") is not None else None]
            return ", ".join(p for p in parts if p) or "no accuracy"
        return self.summary.headline() if self.summary else "no LoadGen summary"


def read_run(folder: Path) -> HostbenchRun:
    """A hostbench test folder; OSError / ValueError when its files are missing or damaged."""
    folder = Path(folder)
    record = json.loads((folder / RECORD).read_text())
    summary = read_summary(folder) if record.get("mode") == "performance" else None
    return HostbenchRun(folder, record, summary)
