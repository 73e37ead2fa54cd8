"""Every figure of every scenario's report keeps the report's style (``conftest.py``).

Each scenario runs its default sweep (the report a user gets), and every
figure that its figure module draws is inspected on its artists.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sweeps import compose_config

from analysis.report import SCENARIO_FIGURES, figures
from pipeline.run.execute import run_sweep

MODULES = {
    "autapse": "autapse",
    "pair": "pair",
    "mutual_inhibition": "pair",
    "autapse_pair": "autapse_pair",
    "integrator": "integrator",
    "runaway": "runaway",
    "saturating_memory": "saturating",
    "nonsymmetric": "nonsymmetric",
    "spectrum": "matrices",
    "feedforward": "matrices",
    "matrix": "matrix",
}
"""Each scenario and the figure module that draws its report."""


@pytest.fixture(scope="module")
def store(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param) / f"{request.param}.zarr"
    run_sweep(compose_config([f"+sweep={request.param}", f"store.path={path}", "report=false"]))
    with xr.open_zarr(path) as ds:
        yield ds


@pytest.mark.parametrize("store", list(MODULES), indirect=True)
def test_every_figure_keeps_the_report_style(store, figure_style):
    """Legend entries with data, theory on a fine grid, no hidden marker, config names."""
    key = (str(store.attrs["network"]), store["check"].attrs["check"])
    drawer = SCENARIO_FIGURES.get(key, None)
    assert drawer is not None and drawer.__module__.endswith(MODULES[store.attrs["sweep"]])
    drawn = figures(store)
    assert drawn
    problems = {name: figure_style(fig, store) for name, fig in drawn.items()}
    assert {name: p for name, p in problems.items() if p} == {}


def test_the_style_check_finds_each_kind_of_fault(figure_style):
    """The check itself: each fault drawn on purpose is found."""
    from analysis.report.figures import figure

    ds = xr.Dataset(
        {"status": (("coupling",), np.zeros(2, dtype="int8"))}, coords={"coupling": [-1.0, 1.0]}
    )
    fig, (ax,) = figure()
    ax.plot([0.0, 1.0], [0.0, 1.0], "-", label="theory")  # 2 points: segments
    ax.plot([0.5], [0.5], "o", ms=6, label="a")
    ax.plot([0.5], [0.5], "o", ms=6, label="b")  # on top of a
    ax.plot([np.nan], [np.nan], "s", label="empty")
    ax.set_title("w = 1")
    ax.legend()
    problems = "\n".join(figure_style(fig, ds))
    assert "'theory'" in problems and "2 points" in problems
    assert "marker of 'a'" in problems and "under one of 'b'" in problems
    assert "'empty': drawn with no data" in problems
    assert "writes w for the config's 'coupling'" in problems
