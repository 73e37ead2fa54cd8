"""The report's HTML page: the run's identity, the summary's lines and the figures, in one file.

Figures are embedded as base64 PNG, so ``index.html`` can be mailed or
moved on its own; the same PNGs sit beside it.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Any

import xarray as xr

from analysis.report.figures import slice_caption

STYLE = """
body { font-family: sans-serif; max-width: 70em; margin: 2em auto; color: #222; }
table.identity td { padding: 0.15em 1em 0.15em 0; vertical-align: top; }
table.identity td:first-child { color: #666; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
figure { margin: 2em 0; } img { max-width: 100%; }
.PASS { color: #1a7f37; } .FAIL { color: #cf222e; } .INCONCLUSIVE { color: #9a6700; }
"""


def identity(attrs: Mapping[str, Any], path: str) -> dict[str, str]:
    """What names a run: sweep, network, run id, fingerprint, code version, point counts."""
    code = attrs.get("code") or {}
    history = attrs.get("history") or []
    last = history[-1] if history else {}
    counts = attrs.get("point_counts") or {}
    return {
        "store": path,
        "sweep": str(attrs.get("sweep", "?")),
        "network": str(attrs.get("network", "?")),
        "run": f"{last.get('run', '?')} in {last.get('catalog', '?')}",
        "config fingerprint": str(attrs.get("fingerprint", "?")),
        "code version": str(code.get("commit", "?")) + ("-dirty" if code.get("dirty") else ""),
        "created": str(attrs.get("created", "?")),
        "last run": f"{last.get('started', '?')} to {last.get('finished', '?')}",
        "point counts": ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "none",
        "schema version": str(attrs.get("schema_version", "?")),
    }


def page_caption(ds: xr.Dataset) -> str:
    """The one slice of every figure, said once: where a figure does not draw a parameter."""
    chosen = slice_caption(ds)
    if not chosen:
        return "Every figure draws every swept value."
    return (
        "Every figure draws its own axes' parameters over every swept value; each other "
        f"swept parameter is at one value, the same in every figure: {chosen}."
    )


def render(
    ds: xr.Dataset, path: str, lines: Sequence[str], verdict: str, pngs: Mapping[str, bytes]
) -> str:
    """The page of the store at ``path``: its identity, summary ``lines`` and figures."""
    rows = "\n".join(
        f"<tr><td>{html.escape(key)}</td><td>{html.escape(value)}</td></tr>"
        for key, value in identity(ds.attrs, path).items()
    )
    figures = "\n".join(
        f'<figure><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{html.escape(name)}.png</figcaption></figure>"
        for name, png in pngs.items()
    )
    sweep = html.escape(str(ds.attrs.get("sweep", "?")))
    caption = page_caption(ds)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>rate-sweeps report: {sweep}</title><style>{STYLE}</style></head>
<body>
<h1>Sweep {sweep}: <span class="{html.escape(verdict)}">{html.escape(verdict)}</span></h1>
<table class="identity">
{rows}
</table>
<h2>Theory check</h2>
<pre>{html.escape(chr(10).join(lines))}</pre>
<h2>Figures</h2>
<p class="slice">{html.escape(caption)}</p>
{figures}
</body></html>
"""
