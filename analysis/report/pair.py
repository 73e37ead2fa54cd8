"""The lecture's pictures of two coupled neurons (the ``pair`` network, weight ``w`` each way).

State space: the trajectories ``(v1(t), v2(t))`` for every input direction,
with the eigenvectors ``(1, 1)/sqrt2`` and ``(1, -1)/sqrt2`` drawn and
scaled by their gains ``1/(1 -+ w)`` (times the input's size), and the
ellipse of steady states ``(I - M)^-1 h`` that theory predicts.  And each
mode's gain against ``w`` with ``1/(1 - w)`` and ``1/(1 + w)``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from analysis.report.figures import (
    DENSE,
    apart,
    distinct,
    figure,
    finish,
    fixed,
    log_scale,
    nearest,
    slice_text,
    state_space_labels,
    titled,
)
from analysis.theory.linear import gain_theory, is_integrator, step_response_theory
from analysis.theory.scenarios import steady_states

STATE_SPACE_COUPLINGS = (0.8, -0.8)
"""Couplings whose state space is drawn (the nearest swept values): the lecture's."""


def reached_at_offset(
    weights: np.ndarray, inputs: np.ndarray, tau: float, duration: float
) -> np.ndarray:
    """Where a linear network from rest is when a step ``inputs`` of ``duration`` stops.

    ``v(T) = Phi diag((1 - exp(-(1 - lam) T/tau)) / (1 - lam)) Phi^-1 h``:
    each mode's step response at ``T`` (:func:`analysis.theory.linear.step_response_theory`).
    ``inputs`` (n_neuron, n_direction); returns (n_neuron, n_direction).
    """
    lam, vectors = np.linalg.eig(weights)
    modes = np.linalg.solve(vectors, inputs)
    reached = np.stack(
        [
            step_response_theory(lam[a], modes[a], tau, 0.0, duration, np.asarray(duration))
            for a in range(lam.size)
        ]
    )
    return np.real(vectors @ reached)


def state_space_figure(ds: xr.Dataset) -> Figure:
    """``v2`` against ``v1`` for every input direction, eigenvectors scaled by gains.

    Beside the steady states ``(I - M)^-1 h`` that the step would reach if it
    lasted, the states it does reach when it stops: the slow mode has not
    settled then, so the trajectories turn back before the outer ellipse.
    """
    couplings = ds["coupling"].values
    chosen = nearest(couplings, STATE_SPACE_COUPLINGS)[::-1]
    others = fixed(ds, "coupling", "input_angle")
    onset, offset = float(ds["onset"]), float(ds["offset"])
    fig, axes = figure(5.6, 5.6, columns=len(chosen), constrained=True)
    for ax, index in zip(axes, chosen, strict=True):
        point = {**others, "coupling": index}
        part = ds[["rate", "h", "weights", "eigenvectors", "eigenvalues", "tau"]].isel(point).load()
        angles = part["input_angle"].values
        for k in range(len(angles)):
            trajectory = part["rate"].isel(input_angle=k)
            label = "simulated, one per input direction" if k == 0 else None
            ax.plot(trajectory.isel(neuron=0), trajectory.isel(neuron=1), lw=0.9,
                    color=f"C{k % 10}", alpha=0.8, label=label)  # fmt: skip
        first = {"input_angle": 0}
        size = float(np.linalg.norm(part["h"].isel(first).values))
        weights = part["weights"].isel(first).values
        theta = np.linspace(0, 2 * np.pi, DENSE)
        inputs = size * np.stack([np.cos(theta), np.sin(theta)])
        # NaN where an integrator mode is driven: no steady state, nothing drawn.
        steady = steady_states(weights[None], inputs[None])[0]
        ax.plot(steady[0], steady[1], "k--", lw=1,
                label="theory: steady states (I - M)⁻¹h")  # fmt: skip
        reached = reached_at_offset(weights, inputs, float(part["tau"]), offset - onset)
        ax.plot(reached[0], reached[1], ":", color="k", lw=1.6, zorder=3,
                label=f"theory: the state when the input stops ({offset - onset:g} s),\n"
                "before the slow mode settles: where the paths turn")  # fmt: skip
        vectors = part["eigenvectors"].isel(first).values
        for mode, eigenvalue in enumerate(part["eigenvalues"].isel(first).values):
            if is_integrator(eigenvalue):  # no gain: the mode integrates its input
                along = np.linspace(-1, 1, DENSE)[:, None] * vectors[:, mode] * size
                ax.plot(along[:, 0], along[:, 1], "-.", color="0.5", lw=1.2,
                        label=f"λ = {eigenvalue:+.2g}: integrates along this line")  # fmt: skip
                continue
            gain = 1 / (1 - eigenvalue)
            arrow = vectors[:, mode] * gain * size
            colour = ("C3", "C0")[mode % 2]
            shaft = np.linspace(0, 1, DENSE)[:, None] * arrow
            ax.plot(shaft[:, 0], shaft[:, 1], "-", color=colour, lw=2.2,
                    label=f"λ = {eigenvalue:+.2g}: eigenvector x gain {gain:.3g} x |h|",
            )  # fmt: skip
            ax.annotate("", xy=tuple(arrow), xytext=tuple(0.9 * arrow),
                        arrowprops={"arrowstyle": "->", "lw": 2.2, "color": colour})  # fmt: skip
        ax.set_aspect("equal", adjustable="datalim")
        ax.margins(0.12)
        ax.axhline(0, color="0.85", lw=0.8, zorder=0)
        ax.axvline(0, color="0.85", lw=0.8, zorder=0)
        xlabel, ylabel = state_space_labels(ds)
        title = f"{slice_text(ds, point)}:\n{len(angles)} input directions"
        finish(ax, xlabel, ylabel, title, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    fig.suptitle("Two coupled neurons in state space: the input along each eigenvector is "
                 "scaled by its gain")  # fmt: skip
    return fig


def mode_gain_figure(ds: xr.Dataset) -> Figure:
    """Each mode's measured gain against ``w``, with ``1/(1 - w)`` and ``1/(1 + w)``.

    The mode along ``(1, 1)`` has eigenvalue ``+w``, the one along ``(1, -1)``
    has ``-w``; a mode is told by the sign of its eigenvector's components.
    """
    others = fixed(ds, "coupling", "input_angle", "tau")
    part = ds[["gain", "eigenvectors"]].isel(others).load()
    vectors = part["eigenvectors"]
    along_sum = (vectors.isel(neuron=0) * vectors.isel(neuron=1)) > 0
    coupling = part["coupling"].broadcast_like(part["gain"])
    fig, (ax,) = figure()
    w = part["coupling"].values
    # One coupling alone still gets a stretch of each curve around it (short of w = +-1).
    half = 0.1 * (1 - abs(w[0])) if w.min() == w.max() and abs(w[0]) < 1 else 0.0
    dense = np.linspace(w.min() - half, w.max() + half, DENSE)
    gains = part["gain"].values[np.isfinite(part["gain"].values)]
    scale = np.array([np.ptp(dense) or 1.0, np.ptp(np.log10(gains)) if gains.size else 1.0])
    for along, sign, colour, name in (
        (True, 1, "C3", "(1, 1)/√2"),
        (False, -1, "C0", "(1, -1)/√2"),
    ):
        theory = gain_theory(sign * dense)  # NaN from w = 1 on: no steady state
        label = "1/(1 - w)" if sign > 0 else "1/(1 + w)"
        ax.plot(dense, theory, color=colour, lw=1.5, label=f"theory {label}, mode {name}")
        mask = (along_sum == along).values & np.isfinite(part["gain"].values)
        x, y = distinct(coupling.values[mask], part["gain"].values[mask])
        # Gains of one coupling closer than a marker on the log axis are drawn once.
        keep = apart(np.column_stack([x, np.log10(y)]), [], scale)
        x, y = x[keep], y[keep]
        ax.plot(x, y, "o", color=colour, mfc="none", ms=7,
                label=f"measured, mode {name} (every input direction and tau)")  # fmt: skip
    log_scale(ax)
    title = titled(
        "Gain of each mode of the pair: 1/(1 - w) along (1, 1), 1/(1 + w) along (1, -1)",
        ds,
        others,
    )
    finish(ax, "coupling (w) between the two neurons", "steady-state gain of the mode", title)
    return fig


def figures(ds: xr.Dataset) -> dict[str, Figure]:
    """The pair figures of ``ds`` by file name."""
    return {"state_space": state_space_figure(ds), "mode_gain": mode_gain_figure(ds)}
