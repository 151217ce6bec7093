"""Where a run writes, in the MLPerf Tiny submission layout:

    <root>/<division>/<submitter>/results/<system>/<model>/<performance|accuracy>/
        log.txt        every line exchanged with the DUT, appended as it happens
        journal.jsonl  while the run is unfinished: one line per completed step (what --resume reads)
        results.txt    when the run is complete: the summary lines the official checker parses
        results.json   when the run is complete: the list of per-step records

results.txt and results.json are written (atomically) only when every step is done, and the journal
is removed then, so a folder holding them is a complete run and nothing half-written looks complete.
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from tinybench.errors import UserError

LOG = "log.txt"
JOURNAL = "journal.jsonl"
RESULTS_TXT = "results.txt"
RESULTS_JSON = "results.json"


def results_prefix(now: datetime | None = None) -> str:
    """The `MMDD.HHMMSS ulp-mlperf: ` prefix of the official runner's result lines."""
    return (now or datetime.now()).strftime("%m%d.%H%M%S") + " ulp-mlperf: "


class RunOutput:
    def __init__(self, root: Path, division: str, submitter: str, system: str, model: str,
                 mode: str):
        for label, value in (("division", division), ("submitter", submitter),
                             ("system", system), ("model", model)):
            if not value or "/" in value or value.startswith(".") or " " in value:
                raise UserError(f"{label} {value!r} cannot be a folder name in a submission "
                                f"(no '/', spaces or leading dots)")
        self.dir = Path(root) / division / submitter / "results" / system / model / mode
        self._log = None
        self.steps: list[dict] = []

    @property
    def is_open(self) -> bool:
        return self._log is not None

    @property
    def complete(self) -> bool:
        return (self.dir / RESULTS_TXT).is_file() and not (self.dir / JOURNAL).exists()

    def open(self, header: dict, resume: bool, overwrite: bool, early_log: list[str]) -> None:
        """Prepare the folder. `header` describes the run (benchmark, dataset, ...); a resumed run
        must have the same one. Completed steps of a resumed run end up in self.steps."""
        journal = self.dir / JOURNAL
        if overwrite:
            for name in (LOG, JOURNAL, RESULTS_TXT, RESULTS_JSON):
                (self.dir / name).unlink(missing_ok=True)
        elif self.complete:
            raise UserError(f"{self.dir} already holds a complete run: pass --overwrite to "
                            f"replace it")
        elif journal.exists() and not resume:
            raise UserError(f"{self.dir} holds an interrupted run: pass --resume to continue it "
                            f"or --overwrite to start again")
        self.dir.mkdir(parents=True, exist_ok=True)
        if resume and journal.exists():
            records = _read_journal(journal)
            if records and records[0].get("run") != header:
                raise UserError(f"{journal}: the interrupted run was started with "
                                f"{records[0].get('run')}, not {header}: use the same options, "
                                f"or --overwrite to start again")
            self.steps = [r["step"] for r in records[1:] if "step" in r]
            # Rewrite without a line torn by the interruption.
            _write_atomically(journal, "".join(json.dumps(r) + "\n" for r in records))
        else:
            _write_atomically(journal, json.dumps({"run": header}) + "\n")
        self._log = open(self.dir / LOG, "a", encoding="utf-8")
        if resume and self.steps:
            self.log(f"resuming: {len(self.steps)} completed step(s) kept")
        for line in early_log:
            self._log.write(line + "\n")

    def log(self, line: str) -> None:
        if self._log:
            self._log.write(f"{datetime.now():%Y-%m-%d %H:%M:%S.%f} {line}\n")

    def record(self, step: dict) -> None:
        """Append one completed step to the journal (and flush the log with it)."""
        self.steps.append(step)
        with open(self.dir / JOURNAL, "a", encoding="utf-8") as f:
            f.write(json.dumps({"step": step}) + "\n")
        if self._log:
            self._log.flush()

    def finish(self, lines: list[str]) -> Path:
        """Write results.txt and results.json, then drop the journal: the run is complete."""
        _write_atomically(self.dir / RESULTS_JSON, json.dumps(self.steps, indent=1) + "\n")
        _write_atomically(self.dir / RESULTS_TXT, "".join(line + "\n" for line in lines))
        (self.dir / JOURNAL).unlink(missing_ok=True)
        self.close()
        return self.dir / RESULTS_TXT

    def close(self) -> None:
        if self._log:
            self._log.close()
            self._log = None


def _read_journal(path: Path) -> list[dict]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break   # the last line was cut short when the run stopped
    return records


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
