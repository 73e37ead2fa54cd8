"""Measured against theoretical matrices: the gain matrix ``(I-M)^-1``, the transfer ``(I-M)^-1 W``.

Heat maps of one point side by side on one colour scale (measured, theory),
and every component of every point measured against theory on the
diagonal ``y = x``.  Used by the ``spectrum`` sweep (the gain matrix found
from the responses to many input directions) and the ``feedforward`` one
(each input neuron's column, stimulated alone and recovered from patterns).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.report import generic
from analysis.report.figures import figure, fixed, set_title, titled

TITLES = {
    "gain_matrix": "Gain matrix (I-M)⁻¹: measured from the responses vs theory",
    "transfer": "Response to each input neuron alone, (I-M)⁻¹W: measured vs theory",
    "transfer_recovered": "(I-M)⁻¹W recovered from mixed input patterns: measured vs theory",
}
"""The title of each matrix's figure."""

AXES = {
    "neuron": "neuron i (responds)",
    "source": "neuron j (its input)",
    "input": "input neuron j (feed-forward stage)",
}
"""How each matrix dimension reads on an axis."""


def matrix_figure(ds: xr.Dataset, name: str) -> Figure:
    """Heat maps of ``name`` and ``name_theory`` for one point, and every value on the diagonal."""
    others = fixed(ds)
    everything = ds[[name, f"{name}_theory"]].load()  # the diagonal shows every point
    part = everything.isel(others)
    rows, columns = part[name].dims
    measured, theory = part[name].values, part[f"{name}_theory"].values
    fig, axes = figure(4.2, 4.2, columns=3)
    finite = np.concatenate([measured[np.isfinite(measured)], theory[np.isfinite(theory)]])
    # A symmetric scale: zero is white, excitation red and inhibition blue in both maps.
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    for ax, values, what in zip(axes, (measured, theory), ("measured", "theory"), strict=False):
        image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
        set_title(ax, f"{what}\n{titled('', ds, others).strip()}", 9)
        ax.set_xlabel(AXES.get(columns, columns))
        ax.set_ylabel(AXES.get(rows, rows))
        ax.set_xticks(range(values.shape[1]))
        ax.set_yticks(range(values.shape[0]))
    fig.colorbar(image, ax=axes[:2], shrink=0.8, label="component of the matrix (dimensionless)")
    generic.on_diagonal(axes[2], everything[f"{name}_theory"].values, everything[name].values)
    axes[2].set_xlabel("component, theory")
    axes[2].set_ylabel("component, measured")
    count = int(np.prod([ds.sizes[dim] for dim in fixed(ds)]))
    set_title(axes[2], f"every component of all {count} points", 9)
    axes[2].legend(fontsize=8, loc="upper left")
    fig.suptitle(TITLES.get(name, f"{name}: measured vs theory"))
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """A matrix figure per checked matrix of ``ds``, and the generic figures of the rest."""
    matrices = [name for name in TITLES if f"{name}_theory" in ds]
    return {
        **{name: matrix_figure(ds, name) for name in matrices},
        **generic.figures(ds, skip=tuple(matrices)),
    }
