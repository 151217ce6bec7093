"""The report's tables, built once and rendered both as terminal text and as HTML."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

from tinybench.report import published
from tinybench.report.formats import ACCURACY_LABEL
from tinybench.report.results import SystemResults, benchmark_order


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    first_published: int | None = None   # index of the first column of published figures

    def numeric(self, column: int) -> bool:
        """A column of figures (right-aligned): every cell other than "-" starts with a digit."""
        cells = [str(r[column]) for r in self.rows if str(r[column]) != "-"]
        return column > 0 and all(c[:1].isdigit() for c in cells)

    def text(self) -> str:
        widths = [max(len(str(r[i])) for r in [self.headers] + self.rows)
                  for i in range(len(self.headers))]
        right = [self.numeric(i) for i in range(len(self.headers))]

        def line(cells):
            out = []
            for i, (cell, width) in enumerate(zip(cells, widths)):
                sep = " | " if self.first_published is not None and i == self.first_published else "  "
                out.append(("" if i == 0 else sep) + (str(cell).rjust(width) if right[i]
                                                        else str(cell).ljust(width)))
            return "".join(out).rstrip()

        rule = "-" * len(line(self.headers))
        body = [self.title, rule, line(self.headers), rule] + [line(r) for r in self.rows]
        return "\n".join(body + [f"  {n}" for n in self.notes])

    def html(self) -> str:
        def cls(i):
            names = (["pub"] if self.first_published is not None and i >= self.first_published
                     else []) + ([] if self.numeric(i) else ["text"])
            return f' class="{" ".join(names)}"' if names else ""
        head = "".join(f"<th{cls(i)}>{html.escape(h)}</th>" for i, h in enumerate(self.headers))
        body = "".join("<tr>" + "".join(f"<td{cls(i)}>{html.escape(str(c))}</td>"
                                        for i, c in enumerate(r)) + "</tr>" for r in self.rows)
        notes = "".join(f"<p class=\"note\">{html.escape(n)}</p>" for n in self.notes)
        return (f"<h3>{html.escape(self.title)}</h3><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>{notes}")


OUTSIDE_RULES_MARK = " *"
OUTSIDE_RULES_NOTE = ("* from a run outside the run rules (see the run-rule errors): not valid "
                      "for submission.")


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}g}" if value < 10 ** digits else f"{value:,.0f}"


def _having(systems: list[SystemResults], value) -> tuple[list[str], list[SystemResults]]:
    """(benchmark keys, systems) for which value(ModelResult) is known somewhere."""
    def known(s, k):
        return k in s.models and value(s.models[k]) is not None
    keys = [k for k in benchmark_order(systems) if any(known(s, k) for s in systems)]
    return keys, [s for s in systems if any(known(s, k) for k in keys)]


def latency_table(systems: list[SystemResults]) -> Table | None:
    keys, systems = _having(systems, lambda r: r.latency_ms)
    if not keys:
        return None
    def ours(s, k):
        r = s.models.get(k)
        if r is None or not r.latency_ms:
            return "-"
        return _fmt(r.latency_ms, 4) + ("" if r.throughput_valid else OUTSIDE_RULES_MARK)

    headers = ["benchmark"] + [s.name for s in systems] + [p.stack for p in published.PUBLISHED]
    rows = [[k] + [ours(s, k) for s in systems]
            + [_fmt(p.latency_ms.get(k), 4) for p in published.PUBLISHED] for k in keys]
    notes = [f"Published figures: {published.BOARD}, from the MLPerf Tiny result repositories."]
    emulated = [s.name for s in systems if any(r.instructions for r in s.models.values())]
    if emulated:
        notes.append(f"{', '.join(emulated)}: an emulated clock that counts instructions (one per "
                     f"virtual ns), not the time of a real part: see the instruction table.")
    return Table("Latency per inference (ms; 1000 / median throughput), lower is better",
                 headers, rows, notes, first_published=1 + len(systems))


def instructions_table(systems: list[SystemResults]) -> Table | None:
    """Instructions per inference and MACs per instruction, for DUTs whose clock counts
    instructions (the QEMU Cortex-M4 board)."""
    keys, systems = _having(systems, lambda r: r.instructions)
    if not keys:
        return None
    rows = []
    for k in keys:
        for s in systems:
            r = s.models.get(k)
            if r is None or not r.instructions:
                continue
            rows.append([k, s.name, f"{r.instructions:,}", _fmt(r.macs_per_instruction)])
    return Table("Instructions per inference (emulated Cortex-M, deterministic), lower is better",
                 ["benchmark", "system", "instructions", "MACs per instruction"], rows)


def accuracy_table(systems: list[SystemResults]) -> Table | None:
    keys, systems = _having(systems, lambda r: r.accuracy)
    if not keys:
        return None
    rows = []
    for k in keys:
        some = next(s.models[k] for s in systems if k in s.models)
        bench = some.benchmark
        row = [k, ACCURACY_LABEL[bench.quality_metric] if bench else "?",
               f"{bench.quality_target:g}" if bench else "-"]
        for s in systems:
            r = s.models.get(k)
            if r is None or r.accuracy is None:
                row.append("-")
            else:
                verdict = {True: "meets", False: "BELOW", None: ""}[r.meets_target]
                row.append(f"{r.accuracy:g} {verdict}".strip())
        rows.append(row)
    return Table("Accuracy against the quality target", ["benchmark", "metric", "target"]
                 + [s.name for s in systems], rows)


def energy_table(systems: list[SystemResults]) -> Table | None:
    keys, systems = _having(systems, lambda r: r.energy_uj)
    if not keys:
        return None
    def ours(s, k):
        r = s.models.get(k)
        if r is None or r.energy_uj is None:
            return "-"
        return _fmt(r.energy_uj, 4) + ("" if r.energy_valid else OUTSIDE_RULES_MARK)

    stacks = [p for p in published.PUBLISHED if p.energy_uj]
    headers = ["benchmark"] + [s.name for s in systems] + [p.stack for p in stacks]
    rows = [[k] + [ours(s, k) for s in systems]
            + [_fmt(p.energy_uj.get(k), 4) for p in stacks] for k in keys]
    return Table("Energy per inference (uJ; median of the trials), lower is better", headers,
                 rows, first_published=1 + len(systems))


def hostbench_table(systems: list[SystemResults]) -> Table | None:
    rows = [[s.name, r.model, run.record.get("scenario", "?"), run.record.get("mode", "?"),
             run.record.get("system_under_test", "?"), run.result_text()]
            for s in systems for r in s.models.values() for run in r.hostbench_runs()]
    if not rows:
        return None
    table = Table("MLPerf Inference scenarios on the host (tinybench hostbench, MLPerf LoadGen)",
                  ["system", "model", "scenario", "mode", "system under test", "result"], rows)
    table.notes.append("Results as LoadGen's mlperf_log_summary.txt states them; host figures "
                       "are not comparable with a microcontroller's.")
    return table


def layers_table(systems: list[SystemResults]) -> Table | None:
    rows = []
    for s in systems:
        for r in s.models.values():
            if not r.layers:
                continue
            total = sum(x.us for x in r.layers)
            slowest = max(r.layers, key=lambda x: x.us)
            share = f"{100 * slowest.us / total:.0f}%" if total else "-"
            rows.append([s.name, r.model, str(len(r.layers)), f"{total:,}",
                         f"{slowest.index} {slowest.opcode} ({slowest.us:,} us, {share})"])
    if not rows:
        return None
    return Table("Per-layer time of the last inference (DUT `layers` command)",
                 ["system", "model", "layers", "total us", "slowest layer"], rows)


def run_errors_table(systems: list[SystemResults]) -> Table | None:
    rows = [[s.name, r.model, error] for s in systems for r in s.models.values()
            for error in r.run_errors]
    if not rows:
        return None
    return Table("Run-rule errors (these results are not valid for submission)",
                 ["system", "model", "error"], rows)


def all_tables(systems: list[SystemResults]) -> list[Table]:
    builders = (latency_table, instructions_table, accuracy_table, energy_table, layers_table,
                hostbench_table, run_errors_table)
    tables = [t for t in (b(systems) for b in builders) if t is not None]
    for t in tables:
        if any(str(cell).endswith(OUTSIDE_RULES_MARK) for row in t.rows for cell in row):
            t.notes.append(OUTSIDE_RULES_NOTE)
    return tables
