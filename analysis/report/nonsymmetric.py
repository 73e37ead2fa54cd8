"""A non-symmetric network (beyond the lecture): complex eigenvalues make the response a spiral.

A mode with eigenvalue ``a + ib`` decays at ``(1 - a)/tau`` and turns at
``b/tau`` (:func:`analysis.theory.scenarios.decay_rate_theory`,
:func:`~analysis.theory.scenarios.angular_frequency_theory`).  The spiral of
the state ``(v1, v2)`` for one ``Re lam`` and every ``Im lam``, and both
rates measured against theory.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.report.figures import (
    DENSE,
    distinct,
    figure,
    finish,
    fixed,
    legend,
    nearest,
    set_title,
    state_space_labels,
    titled,
    value_text,
)
from analysis.theory.scenarios import (
    angular_frequency_theory,
    decay_rate_theory,
    steady_state_theory,
)

SPIRAL_REAL_PART = 0.5
"""``Re lam`` whose spirals are drawn (the nearest swept value): a few turns per e-fold."""


def spiral_figure(ds: xr.Dataset) -> Figure:
    """``v2`` against ``v1`` for every ``lam_imag`` at one ``lam_real``: spirals in and out."""
    others = fixed(ds, "lam_imag")
    others["lam_real"] = nearest(ds["lam_real"].values, [SPIRAL_REAL_PART])[0]
    part = ds[["rate", "h", "weights"]].isel(others).load()
    steady = steady_state_theory(part["weights"], part["h"]).transpose("lam_imag", "neuron")
    fig, (ax,) = figure(6.0, 5.6)
    for k in range(part.sizes["lam_imag"]):
        trajectory = part["rate"].isel(lam_imag=k).transpose("time", "neuron").values
        label = f"simulated, {value_text(ds, 'lam_imag', part['lam_imag'].values[k])}"
        ax.plot(trajectory[:, 0], trajectory[:, 1], "-", color=f"C{k % 10}", lw=1.1, label=label)
    ax.plot(steady.values[:, 0], steady.values[:, 1], "kx", ms=8, mew=1.5,
            label="theory: steady state (I-M)⁻¹h while the input is on")  # fmt: skip
    ax.plot([0], [0], "k+", ms=10, mew=1.5, label="rest, where it returns after the input")
    ax.set_aspect("equal", adjustable="datalim")
    title = titled("Non-symmetric M: complex eigenvalues a ± ib turn the response", ds, others)
    finish(ax, *state_space_labels(ds), title)
    return fig


def rates_figure(ds: xr.Dataset) -> Figure:
    """Decay rate against ``Re lam`` and angular frequency against ``Im lam``, with theory lines."""
    others = fixed(ds, "lam_real", "lam_imag")
    part = ds[["decay_rate", "angular_frequency", "design_eigenvalues", "tau"]].isel(others)
    part = part.load()
    lam = part["design_eigenvalues"].values
    tau = part["tau"]
    fig, axes = figure(5.2, 4.6, columns=2)
    for ax, name, component, theory in (
        (axes[0], "decay_rate", np.real, decay_rate_theory),
        (axes[1], "angular_frequency", np.imag, angular_frequency_theory),
    ):
        x = component(lam)
        dense = np.linspace(x.min(), x.max(), DENSE)
        line = theory(xr.DataArray(dense * (1 if component is np.real else 1j)), tau)
        ax.plot(dense, line.values, "-", color="0.3", lw=1.5,
                label=f"theory {ds[name + '_theory'].attrs.get('formula', '')}")  # fmt: skip
        ax.plot(*distinct(x, part[name].values), "o", mfc="none", ms=7,
                label=f"measured, every mode of {x.size // lam.shape[-1]} points")  # fmt: skip
        units = ds[name].attrs.get("units", "")
        ax.set_ylabel(f"{name.replace('_', ' ')} [{units}]")
        legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    axes[0].set_xlabel("Re λ, real part of the mode's eigenvalue (lam_real)")
    axes[1].set_xlabel("Im λ, imaginary part of the mode's eigenvalue (lam_imag)")
    set_title(axes[0], "decay rate (1 - Re λ)/τ", 10)
    set_title(axes[1], "angular frequency Im λ/τ", 10)
    fig.suptitle(titled("Complex modes decay at (1 - Re λ)/τ and turn at Im λ/τ", ds, others))
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The spiral and the two rates, by file name."""
    return {"spiral": spiral_figure(ds), "rates": rates_figure(ds)}
