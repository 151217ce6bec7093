"""The submission checker: validates a submission tree as the MLCommons MLPerf Tiny checker does
(SPEC section 5), and collects the results it finds into the checker's summary.csv rows.

    <root>/<division>/<submitter>/systems/<system>.json
    <root>/<division>/<submitter>/results/<system>/<model>/<accuracy|performance|energy>/
        log.txt, results.txt (results.json optional)

Checked: the layout and required files, the system description, the model folder names, the
result lines in results.txt (last match wins), the quality targets (closed division only),
run-rule errors (`ERROR` lines the runner wrote), and folder hygiene (symlinks, files over 500 MB,
__pycache__, empty folders; dot-names and spaces are warnings).
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tinybench import benchmarks
from tinybench.errors import UserError
from tinybench.report import formats

DIVISIONS = ("closed", "open")
NOT_DIVISIONS = (".git", ".github", "assets", ".vscode")   # top-level folders the checker skips
AVAILABILITIES = ("available", "preview", "rdi")
FILE_SIZE_LIMIT = 500 * 1024 * 1024
MODEL_MAPPING_FILE = "model_mapping.json"   # open/<submitter>/: {"my_model": "kws", ...}

# Required files per test folder, by runner. A model folder holding a file EEMBC_RUNNER was
# measured with the EEMBC EnergyRunner.
MLC_FILES = ("log.txt", "results.txt")
OPTIONAL_FILES = ("results.json", ".gitkeep")
EEMBC_MARKER = "EEMBC_RUNNER"
EEMBC_FILES = ("log.txt", "results.txt", "script.async")
TESTS = ("accuracy", "performance", "energy")
# Test folders tinybench writes beside the official ones; the official checker ignores them.
EXTRA_TEST_PREFIXES = ("layers", "hostbench-")

SYSTEM_FIELDS = ("Board Name", "Processor(s) Name", "Processor(s) Frequencies",
                 "Processor memory type and capacity", "Accelerator", "Accelerator(s) Frequencies",
                 "Accelerator memory type and capacity", "Hardware Notes", "Inference Framework",
                 "Software Libraries", "Software Notes")
SUMMARY_COLUMNS = (
    "Organization", "Availability", "Division", "BoardName", "SystemDesc", "Model", "MlperfModel",
    "Result", "ResultUnit", "Accuracy", "HasPower", "Power", "PowerUnit",
    "HostProcessorModelName", "HostProcessorFrequency", "HostProcessorMemory",
    "AcceleratorModelName", "AcceleratorFrequency", "AcceleratorMemory", "HardwareNotes",
    "InferenceFramework", "SoftwareLibraries", "SoftwareNotes",
    "FalsePositives", "FalseNegatives", "DutyCycle")
# summary.csv column -> system description key
_SYSTEM_COLUMNS = {"BoardName": "Board Name", "HostProcessorModelName": "Processor(s) Name",
                   "HostProcessorFrequency": "Processor(s) Frequencies",
                   "HostProcessorMemory": "Processor memory type and capacity",
                   "AcceleratorModelName": "Accelerator",
                   "AcceleratorFrequency": "Accelerator(s) Frequencies",
                   "AcceleratorMemory": "Accelerator memory type and capacity",
                   "HardwareNotes": "Hardware Notes", "InferenceFramework": "Inference Framework",
                   "SoftwareLibraries": "Software Libraries", "SoftwareNotes": "Software Notes"}


@dataclass(frozen=True)
class ModelRule:
    name: str                           # the model folder name in a closed submission
    metric: str                         # "top1" (percent), "auc", or "sww" (detections)
    target: float | None                # closed-division quality target (top1 / auc)
    required_tests: tuple[str, ...]
    requires: str | None = None         # a model the same system must submit too


# The four benchmarks of the registry, plus the two the official checker (v1.4) also knows but
# tinybench does not run: ic2 (ResNet-8 "large", 91% top-1, only beside ic) and the streaming
# wakeword sww (scored by detections: at most 8 false positives and 8 false negatives of 50).
SWW_WAKEWORDS = 50
SWW_MAX_FALSE = 8
MODEL_RULES: dict[str, ModelRule] = {
    **{b.submission_name: ModelRule(b.submission_name, b.quality_metric, b.quality_target,
                                    ("accuracy", "performance"))
       for b in benchmarks.BENCHMARKS.values()},
    "ic2": ModelRule("ic2", "top1", 91.0, ("accuracy", "performance"), requires="ic"),
    "sww": ModelRule("sww", "sww", None, ()),
}


@dataclass
class Finding:
    level: str      # "error" or "warning"
    where: str      # path relative to the submission root
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper()}: {self.where}: {self.message}"


@dataclass
class CheckReport:
    root: Path
    findings: list[Finding] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)      # summary.csv rows, one per valid model

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary_line(self) -> str:
        return "SUMMARY: submission looks OK" if self.ok else "SUMMARY: submission has errors"

    def text(self) -> str:
        lines = [str(f) for f in self.findings]
        for r in self.rows:
            power = f", {r['Power']:g} {r['PowerUnit']}" if r["HasPower"] else ""
            lines.append(f"result: {r['Division']}/{r['Organization']}/{r['SystemDesc']}/"
                         f"{r['Model']}: {r['Result']:g} inf./sec., accuracy {r['Accuracy']}{power}")
        lines.append(f"{len(self.rows)} result(s) collected, {len(self.errors)} error(s), "
                     f"{len(self.findings) - len(self.errors)} warning(s)")
        lines.append(self.summary_line())
        return "\n".join(lines)


class _Checker:
    def __init__(self, root: Path):
        self.root = root
        self.report = CheckReport(root)

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."

    def error(self, path: Path, message: str) -> None:
        self.report.findings.append(Finding("error", self._rel(path), message))

    def warn(self, path: Path, message: str) -> None:
        self.report.findings.append(Finding("warning", self._rel(path), message))

    # -- the tree ---------------------------------------------------------------------------

    def run(self) -> CheckReport:
        divisions = []
        for entry in sorted(self.root.iterdir()):
            if not entry.is_dir() or entry.name in NOT_DIVISIONS:
                continue
            if entry.name in DIVISIONS and not entry.is_symlink():
                divisions.append(entry)
            else:
                self.error(entry, f"invalid division {entry.name!r}: the top level holds only "
                                  f"{' and '.join(d + '/' for d in DIVISIONS)}")
        if not divisions:
            self.error(self.root, "no closed/ or open/ folder: give the root of a submission "
                                  "tree (<root>/<division>/<submitter>/results/...)")
        for division in divisions:
            for submitter in sorted(p for p in division.iterdir() if p.is_dir()):
                self.check_submitter(division.name, submitter)
        return self.report

    def hygiene(self, top: Path) -> None:
        for folder, dirs, files in os.walk(top):
            folder = Path(folder)
            if not dirs and not files:
                self.error(folder, "empty folder: remove it")
            for name in dirs + files:
                path = folder / name
                if path.is_symlink():
                    self.error(path, "symbolic link: replace it with the file itself")
                elif name == "__pycache__":
                    self.error(path, "__pycache__ folder: remove it")
                elif name in files and path.stat().st_size > FILE_SIZE_LIMIT:
                    self.error(path, f"larger than {FILE_SIZE_LIMIT // 2**20} MB: too big "
                                     f"for the submission repository")
                if name.startswith("."):
                    self.warn(path, "name starts with a dot (hidden, git may ignore it)")
                if " " in name:
                    self.warn(path, "name holds a space")

    def check_submitter(self, division: str, submitter: Path) -> None:
        self.hygiene(submitter)
        results = submitter / "results"
        if not results.is_dir():
            self.warn(submitter, "no results/ folder: nothing to check")
            return
        mapping = {}
        if division == "open" and (submitter / MODEL_MAPPING_FILE).is_file():
            mapping = self.read_json(submitter / MODEL_MAPPING_FILE) or {}
        for system in sorted(p for p in results.iterdir() if p.is_dir()):
            description = self.system_description(submitter, system.name)
            if description is None:
                continue
            models = sorted(p for p in system.iterdir() if p.is_dir())
            for model in models:
                self.check_model(division, submitter.name, system.name, description, model,
                                 mapping)
            names = {m.name for m in models}
            official = {mapping.get(n, n) for n in names}
            for rule in MODEL_RULES.values():
                if rule.requires and rule.name in official and rule.requires not in official:
                    self.error(system, f"{rule.name} results need {rule.requires} results for "
                                       f"the same system")

    def read_json(self, path: Path):
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.error(path, f"not valid JSON: {exc}")
            return None

    def system_description(self, submitter: Path, system: str) -> dict | None:
        path = submitter / "systems" / f"{system}.json"
        if not path.is_file():
            self.error(path, f"missing: every results/{system}/ needs a system description "
                             f"systems/{system}.json with \"Status\" "
                             f"({'|'.join(AVAILABILITIES)}) and the fields "
                             f"{', '.join(SYSTEM_FIELDS)}")
            return None
        description = self.read_json(path)
        if description is None:
            return None
        if not isinstance(description, dict):
            self.error(path, "must hold a JSON object")
            return None
        status = description.get("Status")
        if not isinstance(status, str) or status.lower() not in AVAILABILITIES:
            self.error(path, f"\"Status\" is {status!r}: it must be one of "
                             f"{', '.join(AVAILABILITIES)}")
            return None
        if "system_type" in description:
            self.error(path, "\"system_type\" must not be present (MLPerf Tiny has no system "
                             "types): remove it")
            return None
        missing = [k for k in SYSTEM_FIELDS if k not in description]
        if missing:
            self.warn(path, f"no {', '.join(repr(k) for k in missing)}: the summary leaves "
                            f"them empty")
        return description

    # -- one model --------------------------------------------------------------------------

    def check_model(self, division: str, submitter: str, system: str, description: dict,
                    model: Path, mapping: dict) -> None:
        errors_before = len(self.report.errors)
        name = model.name
        rule = MODEL_RULES.get(name)
        if rule is None and division == "open":
            rule = MODEL_RULES.get(mapping.get(name))
        if rule is None:
            known = ", ".join(MODEL_RULES)
            hint = (f"; or map it in {MODEL_MAPPING_FILE} beside results/" if division == "open"
                    else "")
            self.error(model, f"unknown model {name!r}: name the folder one of {known}{hint}")
            return
        required_files = EEMBC_FILES if (model / EEMBC_MARKER).is_file() else MLC_FILES
        for test in rule.required_tests:
            if not (model / test).is_dir():
                self.error(model / test, f"missing: {name} needs "
                                         f"{' and '.join(rule.required_tests)} results")
        values = {}
        for test_dir in sorted(p for p in model.iterdir() if p.is_dir()):
            test = test_dir.name
            if test in TESTS:
                if self.required_files(test_dir, required_files):
                    values[test] = self.read_results(test_dir)
            elif not test.startswith(EXTRA_TEST_PREFIXES):
                self.warn(test_dir, f"not a test folder ({', '.join(TESTS)}): the checker "
                                    f"ignores it")

        row = (self.sww_result(model, rule, division, values) if rule.metric == "sww"
               else self.result(model, rule, division, values))
        if row is not None and len(self.report.errors) == errors_before:
            power = row.pop("power", None)
            self.report.rows.append(dict(
                Organization=submitter, Availability=description["Status"].lower(),
                Division=division, SystemDesc=system, Model=name, MlperfModel=rule.name,
                HasPower=power is not None, Power=power if power is not None else 0,
                PowerUnit="mW" if rule.metric == "sww" else "uJ/inf.", ResultUnit="inf./sec.",
                **{column: description.get(key) for column, key in _SYSTEM_COLUMNS.items()},
                **row))

    def required_files(self, test_dir: Path, required: tuple[str, ...]) -> bool:
        present = {p.name for p in test_dir.iterdir() if p.is_file()}
        missing = [f for f in required if f not in present]
        if missing:
            self.error(test_dir, f"missing {', '.join(missing)} (a test folder holds "
                                 f"{', '.join(required)})")
        extra = present - set(required) - set(OPTIONAL_FILES)
        if test_dir.name == "energy":
            extra = {f for f in extra if not (f.startswith("energy_inf_") and f.endswith(".png"))}
        if extra:
            self.warn(test_dir, f"unexpected file(s) {', '.join(sorted(extra))}: the official "
                                f"checker may reject the folder")
        return "results.txt" in present

    def read_results(self, test_dir: Path) -> list[str]:
        lines = formats.read_lines(test_dir / "results.txt")
        for line in formats.run_rule_errors(lines):
            self.error(test_dir / "results.txt", f"run-rule error: {line}")
        for line in lines:
            note = formats.NOTE.match(line)
            if note and note.group(1) == formats.SYNTHETIC_NOTE:
                self.error(test_dir / "results.txt", "the run used synthetic data: results on "
                                                     "the real eval set are needed to submit")
        return lines

    def result(self, model: Path, rule: ModelRule, division: str, values: dict) -> dict | None:
        if "accuracy" not in values or "performance" not in values:
            return None
        accuracy = formats.last_match(values["accuracy"], formats.ACCURACY[rule.metric])
        label = formats.ACCURACY_LABEL[rule.metric]
        if accuracy is None:
            self.error(model / "accuracy" / "results.txt",
                       f"no {label} line (e.g. 'Top 1% = 91.2' or 'AUC = 0.871')")
            return None
        value = _number(accuracy.group(1))
        if value is None:
            self.error(model / "accuracy" / "results.txt",
                       f"{label} {accuracy.group(1)!r} is not a number")
            return None
        if division == "closed" and value < rule.target:
            self.error(model / "accuracy" / "results.txt",
                       f"accuracy {label} {accuracy.group(1)} is below the closed-division "
                       f"target {rule.target:g}")
        throughput = formats.last_match(values["performance"], formats.THROUGHPUT)
        if throughput is None:
            self.error(model / "performance" / "results.txt",
                       "no 'Median throughput is ... inf./sec.' line: the run did not meet the "
                       "run rules or did not finish")
            return None
        power = None
        if "energy" in values:
            energy = formats.last_match(values["energy"], formats.ENERGY, search=True)
            if energy is None:
                self.error(model / "energy" / "results.txt",
                           "no 'Median energy cost is ... uJ/inf.' line")
            else:
                power = _number(energy.group(1))
        result = _number(throughput.group(1))
        if result is None:
            self.error(model / "performance" / "results.txt",
                       f"median throughput {throughput.group(1)!r} is not a number")
            return None
        return dict(Result=result, Accuracy=accuracy.group(1), power=power)

    def sww_result(self, model: Path, rule: ModelRule, division: str, values: dict) -> dict | None:
        test = "energy" if "energy" in values else "performance" if "performance" in values else None
        if test is None:
            self.error(model, "sww needs energy/ (or performance/) results")
            return None
        path = model / test / "results.txt"
        if test == "energy" and not (model / test / "energy_inf_000.png").is_file():
            self.error(model / test, "missing energy_inf_000.png (the energy plot of the run)")
        lines = values[test]
        throughput = formats.last_match(lines, formats.SWW_THROUGHPUT, search=True)
        detections = formats.last_match(lines, formats.SWW_DETECTIONS, search=True)
        duty = formats.last_match(lines, formats.SWW_DUTY_CYCLE, search=True)
        if throughput is None or detections is None:
            self.error(path, "no 'Estimated throughput: ... inf./sec.' or 'Accuracy: N True "
                             "positives, N False negatives, N False positives' line")
            return None
        tp, fn, fp = (int(x) for x in detections.groups())
        if tp + fn != SWW_WAKEWORDS:
            self.error(path, f"{tp} true positives + {fn} false negatives should be "
                             f"{SWW_WAKEWORDS}: the full long test was not run")
        if division == "closed" and (fp > SWW_MAX_FALSE or fn > SWW_MAX_FALSE):
            self.error(path, f"{fp} false positives and {fn} false negatives: the closed "
                             f"division allows at most {SWW_MAX_FALSE} of each")
        power = None
        if test == "energy":
            found = formats.last_match(lines, formats.SWW_POWER, search=True)
            if found is None:
                self.error(path, "no 'Power : ... mW' line")
            else:
                power = _number(found.group(1))
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        return dict(Result=_number(throughput.group(1)), Accuracy=f"{f1:.3f}",
                    FalsePositives=fp, FalseNegatives=fn,
                    DutyCycle=duty.group(1) if duty else None, power=power)


def _number(text: str) -> float | None:
    """A matched [\\d.]+ as a number ("12.5." from a sentence end included), or None."""
    try:
        return float(text.rstrip("."))
    except ValueError:
        return None


def check(root: Path) -> CheckReport:
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder: give the root of a submission tree")
    return _Checker(root.resolve()).run()


def write_summary(report: CheckReport, path: Path) -> None:
    """summary.csv as the official checker writes it: a plain header, every value quoted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        f.write(",".join(SUMMARY_COLUMNS) + "\n")
        writer = csv.DictWriter(f, fieldnames=SUMMARY_COLUMNS, quoting=csv.QUOTE_ALL,
                                restval="")
        for row in report.rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    os.replace(tmp, path)
