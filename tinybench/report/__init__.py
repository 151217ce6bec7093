"""Results, reports and the submission checker.

    results.py   reading results trees (what `tinybench run`, energy mode and hostbench wrote)
    formats.py   the results.txt lines that carry a result (the official checker's patterns)
    layers.py    the per-layer timing extension of the DUT protocol (`layers%`)
    published.py the published reference-board figures
    tables.py, plots.py, html.py   the terminal table, the plots and the HTML page
    check.py     the submission checker (`tinybench check`)

make_report(["results/"], Path("report")) reads the trees and writes the report.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from tinybench.errors import UserError


@dataclass
class Report:
    text: str                           # the terminal tables
    html_path: Path | None = None
    plots: list[Path] = field(default_factory=list)


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def make_report(paths: list[Path], out: Path | None) -> Report:
    """Read every results tree under paths; return the terminal tables and, with out, write
    out/report.html (self-contained) and out/plots/*.png."""
    from tinybench.report import results, tables

    systems = results.load([Path(p) for p in paths])
    all_tables = tables.all_tables(systems)
    notes = list(dict.fromkeys(n for s in systems for r in s.models.values() for n in r.notes))
    text = "\n\n".join([f"NOTE: {n}" for n in notes] + [t.text() for t in all_tables])
    report = Report(text)
    if out is None:
        return report

    from tinybench.report import html, plots
    out = Path(out)
    try:
        (out / "plots").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write the report to {out}: {exc.strerror}") from None

    def save(name: str, png: bytes | None, alt: str) -> list[str]:
        if png is None:
            return []
        path = out / "plots" / name
        path.write_bytes(png)
        report.plots.append(path)
        return [html.image(png, alt)]

    by_title = {t.title.split(" (")[0]: t for t in all_tables}

    def table(prefix: str) -> list[str]:
        return [t.html() for title, t in by_title.items() if title.startswith(prefix)]

    layer_images = []
    for s in systems:
        for r in s.models.values():
            if r.layers:
                layer_images += save(f"layers-{_file_name(s.name)}-{_file_name(r.model)}.png",
                                     plots.layers(s.name, r.model, r.layers),
                                     f"per-layer time of {r.model} on {s.name}")
    sections = [
        ("Latency", table("Latency") + save("latency.png", plots.latency(systems),
                                            "latency per benchmark")),
        ("Accuracy", table("Accuracy") + save("accuracy.png", plots.accuracy(systems),
                                              "accuracy against the quality target")),
        ("Energy", table("Energy") + save("energy.png", plots.energy(systems),
                                          "energy per inference")),
        ("Per-layer profile", table("Per-layer") + layer_images),
        ("Host CPU scenarios", table("Host CPU") + save("hostbench.png", plots.hostbench(systems),
                                                        "host scenario latencies")),
        ("Run-rule errors", table("Run-rule")),
    ]
    page = html.render(sections, [str(p) for p in paths], notes)
    tmp = out / "report.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out / "report.html")   # last, whole: a report.html is always complete
    report.html_path = out / "report.html"
    return report
