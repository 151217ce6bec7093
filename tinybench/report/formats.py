"""The lines of a results.txt that carry a result, as the official MLPerf Tiny tools read them.

The runner (ours or the official one) writes results.txt; the submission checker and the report
read it with these patterns (SPEC section 5). Where a file holds several matching lines, the last
one wins, as in the official checker.
"""
from __future__ import annotations

import re
from pathlib import Path

# Accuracy: "MMDD.HHMMSS ulp-mlperf: Top 1% = 92.3" (also the older "Top-1: 91.1%") and
# "MMDD.HHMMSS ulp-mlperf: AUC = 0.862" (also "AUC: 0.93"). Matched from the line start.
TOP1 = re.compile(r".* Top[- ]1%?\s?[:=] ([\d\.]+).*")
AUC = re.compile(r".* AUC\s?[:=] ([\d\.]+).*")
ACCURACY = {"top1": TOP1, "auc": AUC}  # keyed by Benchmark.quality_metric
ACCURACY_LABEL = {"top1": "Top-1 %", "auc": "AUC"}
# Performance: "MMDD.HHMMSS ulp-mlperf: Median throughput is     12.345 inf./sec."
THROUGHPUT = re.compile(r".* Median throughput is\s+([\d\.]+) inf\./sec\..*")
# Energy: "Median energy cost is 123.4567 uJ/inf." (searched anywhere in the line)
ENERGY = re.compile(r"Median energy cost is ([\d\.]+) uJ/inf")
# tinybench's energy mode gives the median of a run outside the rules (too short, or a simulated
# power monitor) in words the checker does not take; the report shows it, marked as not valid.
ENERGY_OUTSIDE_RULES = re.compile(r"Median energy cost of these windows: ([\d\.]+) uJ/inf")
# Streaming wakeword (sww) lines.
SWW_POWER = re.compile(r"Power\s+: ([\d\.]+) mW")
SWW_THROUGHPUT = re.compile(r"Estimated throughput:\s*([\d\.]+) inf\./sec\.")
SWW_DETECTIONS = re.compile(
    r"Accuracy: (\d+) True positives, (\d+) False negatives, (\d+) False positives")
SWW_DUTY_CYCLE = re.compile(r"Average duty cycle:\s*([\d\.]+)")
# Run-rule errors the runner writes instead of (or beside) a result, e.g.
# "ERROR 1 - loop_count was not exactly 5." or "ERROR: Not valid for submission...".
# tinybench's own lines for a DUT whose clock counts instructions (QEMU with -icount).
INSTRUCTIONS = re.compile(r".*Median instructions per inference: ([\d,]+)")
MACS_PER_INSTRUCTION = re.compile(r".*MACs per instruction: ([\d\.]+)")
RUN_RULE_ERROR = re.compile(r"\bERROR\b")
# tinybench's own remark on a run, e.g. that its data were synthetic (not an official line).
NOTE = re.compile(r".*\bNote: (.+)$")
SYNTHETIC_NOTE = ("SYNTHETIC DATA: trained and evaluated on tinybench's synthetic stand-ins for "
                  "the real datasets; the accuracy says nothing about the real benchmark")


def read_lines(path: Path) -> list[str]:
    """The lines of a text file, undecodable bytes replaced (a results.txt is plain ASCII)."""
    return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()


def last_match(lines: list[str], pattern: re.Pattern, search: bool = False) -> re.Match | None:
    """The last line matching pattern (re.match from the line start, or re.search anywhere)."""
    found = None
    for line in lines:
        m = pattern.search(line) if search else pattern.match(line)
        if m:
            found = m
    return found


def last_number(lines: list[str], pattern: re.Pattern, search: bool = False) -> float | None:
    m = last_match(lines, pattern, search)
    if m is None:
        return None
    try:
        return float(m.group(1))
    except ValueError:  # "1.2.3" matches [\d\.]+ but is no number
        return None


def run_rule_errors(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if RUN_RULE_ERROR.search(line)]
