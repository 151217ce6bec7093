"""The self-contained HTML report: tables and plots in one file, images as base64 data URIs."""
from __future__ import annotations

import base64
import html
from datetime import datetime

from tinybench import __version__

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd;
       padding-bottom: 0.2em; margin-top: 1.8em; } h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.3em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
th { background: #f3f3f3; } td.pub, th.pub { color: #666; background: #fafafa; }
tr:nth-child(even) td { background: #fcfcfc; }
.note, .meta { color: #666; font-size: 0.85em; margin: 0.2em 0; }
.warning { background: #fff3cd; border: 1px solid #e0c060; padding: 0.5em 0.8em; font-weight: bold; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render(sections: list[tuple[str, list[str]]], sources: list[str],
           notes: list[str] = ()) -> str:
    """sections: (heading, [html fragments]); fragments are already-escaped HTML. notes: remarks
    on the runs (such as synthetic data), shown above everything else."""
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>tinybench report</title><style>{STYLE}</style></head><body>",
             "<h1>tinybench report</h1>",
             f"<p class=\"meta\">Written {datetime.now():%Y-%m-%d %H:%M} by tinybench "
             f"{html.escape(__version__)} from: "
             + ", ".join(f"<code>{html.escape(s)}</code>" for s in sources) + "</p>"]
    parts += [f"<p class=\"warning\">{html.escape(n)}</p>" for n in notes]
    for heading, fragments in sections:
        if fragments:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
            parts += fragments
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def image(png: bytes, alt: str) -> str:
    return f"<img src=\"{data_uri(png)}\" alt=\"{html.escape(alt)}\">"
