"""The report of a store: PNG figures and one self-contained ``index.html``, beside it.

:func:`figures` picks the scenario's figures (the lecture's pictures where a
scenario has them, :mod:`analysis.report.generic` for every other) and builds
them from a store opened lazily: each reads only what it draws.
:func:`write_report` is the edge that writes them, with the page of
:mod:`analysis.report.page`, into ``<store>.report/``.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.report import (
    autapse,
    autapse_pair,
    generic,
    integrator,
    matrices,
    matrix,
    nonsymmetric,
    page,
    pair,
    runaway,
    saturating,
)
from analysis.summary import Summary
from pipeline.registry import Registry

ScenarioFigures = Callable[[xr.Dataset], dict[str, Figure]]
"""A scenario's figures: the store in, figures by file name out."""

SCENARIO_FIGURES: Registry[tuple[str, str], ScenarioFigures] = Registry(
    "figures of the scenario",
    Callable,
    {
        ("autapse", "linear_modes"): autapse.figures,
        ("pair", "pair"): pair.figures,
        ("autapse_pair", "autapse_pair"): autapse_pair.figures,
        ("spectrum", "gain_matrix"): matrices.figures,
        ("feedforward", "feedforward"): matrices.figures,
        ("pair", "integrator"): integrator.figures,
        ("pair", "runaway"): runaway.figures,
        ("autapse", "saturating"): saturating.figures,
        ("nonsymmetric", "nonsymmetric"): nonsymmetric.figures,
        ("matrix", "linear_modes"): matrix.figures,
    },
)
"""Figures of a scenario by (network kind, check); any other gets :func:`generic.figures`.
Another package adds its own with ``SCENARIO_FIGURES.register((kind, check), figures)``."""

DPI = 100
PNG_OPTIONS = {"compress_level": 1}
"""How Pillow writes each PNG."""


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The report's figures of the store ``ds`` by file name (without ``.png``)."""
    check = ds["check"].attrs.get("check", "") if "check" in ds else ""
    scenario = SCENARIO_FIGURES.get((str(ds.attrs.get("network", "")), check), generic.figures)
    # Overflow and NaN in a curve or a ratio (tau = 1e-300, a runaway at 1e300) leave
    # values that are not finite, which matplotlib leaves out of the line: no warning.
    with np.errstate(all="ignore"):
        return scenario(ds)


def report_directory(store: str | os.PathLike) -> Path:
    """Where the report of the store ``store`` goes: ``results/a.zarr`` -> ``results/a.report``."""
    path = Path(store)
    stem = path.stem if path.suffix == ".zarr" else path.name
    return path.with_name(stem + ".report")


def png(fig: Figure) -> bytes:
    """``fig`` as PNG; ``bbox_inches="tight"`` so that no label is cut off."""
    buffer = io.BytesIO()
    # zlib's fastest level: a report is drawn after every run and its PNGs are small, so
    # its time counts for more than their bytes (see benchmarks/README.md, figure 10).
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", pil_kwargs=PNG_OPTIONS)
    return buffer.getvalue()


def write_report(
    ds: xr.Dataset, store: str | os.PathLike, summary: Summary, directory: Path | None = None
) -> Path:
    """Write the figures of ``ds`` (the store at ``store``) and ``index.html``; return the page.

    The directory (``report_directory(store)`` unless given) is replaced as a
    whole, so a report never mixes figures of two runs.
    """
    directory = Path(directory) if directory is not None else report_directory(store)
    with np.errstate(all="ignore"):
        pngs = {name: png(fig) for name, fig in figures(ds).items()}
    where = str(store) if "://" in str(store) else str(Path(store).resolve())  # or its URL
    text = page.render(ds, where, summary.lines, summary.verdict, pngs)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    for name, data in pngs.items():
        (staging / f"{name}.png").write_bytes(data)
    (staging / "index.html").write_text(text, encoding="utf-8")
    if directory.exists():
        old = directory.with_name(f".{directory.name}.old.{os.getpid()}")
        directory.rename(old)
        staging.rename(directory)
        for item in old.iterdir():
            item.unlink()
        old.rmdir()
    else:
        staging.rename(directory)
    return directory / "index.html"
