"""The lecture's figure of each scenario: what it draws is the store's measurement and its theory.

Every test reads the data a figure drew (its artists, or the arrays its
helper returns) and compares them with theory computed here independently,
within the stated tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from sweeps import compose_config

from analysis.report import (
    autapse_pair,
    figures,
    integrator,
    matrices,
    matrix,
    nonsymmetric,
    runaway,
    saturating,
)
from analysis.report.figures import CLEAR, DENSE
from pipeline.run.execute import run_sweep

RUNS = {
    "autapse_pair": ["sweep.grid.input_angle=[0,0.7853981633974483,2.356194490192345]"],
    "spectrum": ["sweep.grid.seed=[0.0,1.0]", "sweep.grid.tau=[0.01]"],
    "feedforward": ["sweep.grid.seed=[0.0,1.0]", "sweep.grid.tau=[0.01]"],
    "integrator": ["sweep.grid.tau=[0.02]"],
    "runaway": ["sweep.grid.input_angle=[0.0]"],
    "saturating_memory": ["sweep.grid.tau=[0.01]"],
    "nonsymmetric": [],
    "matrix": ["sweep.grid.tau=[0.01]"],
}
"""Each scenario's sweep, made smaller where that loses nothing the figure shows."""


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenarios")
    paths = {}
    for name, extra in RUNS.items():
        path = root / f"{name}.zarr"
        run_sweep(compose_config([f"+sweep={name}", f"store.path={path}", *extra]))
        paths[name] = path
    return paths


def opened(stores, name: str) -> xr.Dataset:
    return xr.open_zarr(stores[name], chunks=None)


def markers(ax) -> list:
    return [line for line in ax.lines if line.get_linestyle() == "None"]


def data(line) -> tuple[np.ndarray, np.ndarray]:
    return tuple(np.asarray(v, dtype=float) for v in line.get_data())


def assert_every_value_drawn(line, x: np.ndarray, y: np.ndarray) -> None:
    """Every finite ``(x, y)`` has a marker of ``line`` within the span that one marker
    covers (:data:`analysis.report.figures.CLEAR` of the axes): values that would lie on
    each other are drawn once, none is left out."""
    drawn = np.column_stack(data(line))
    wanted = np.column_stack([np.ravel(x), np.ravel(y)])
    wanted = wanted[np.isfinite(wanted).all(axis=1)]
    scale = np.ptp(np.vstack([drawn, wanted]), axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    near = np.abs(wanted[:, None, :] - drawn[None, :, :]) < CLEAR * scale
    assert near.all(axis=2).any(axis=1).all()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("autapse_pair", {"loop", "gain", "tau_eff", "persistence"}),
        ("spectrum", {"gain_matrix", "eigenvalues", "gain", "tau_eff"}),
        ("feedforward", {"transfer", "transfer_recovered", "eigenvalues"}),
        ("integrator", {"ramp_hold", "ramp_slope", "held_value"}),
        ("runaway", {"runaway", "growth_rate"}),
        ("saturating_memory", {"fixed_point", "memory"}),
        ("nonsymmetric", {"spiral", "rates"}),
        ("matrix", {"modes", "gain", "tau_eff"}),
    ],
)
def test_each_scenario_gets_its_lecture_figures(stores, name, expected):
    with opened(stores, name) as ds:
        drawn = figures(ds)
    assert expected <= set(drawn)
    for fig in drawn.values():
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_xlabel() and ax.get_ylabel()


def test_autapse_pair_loop_heads_for_each_neurons_own_steady_state(stores):
    """Crosses at h_i/(1 - lam_i) of the slice named, the simulated samples on each neuron's
    closed form h_i/(1-lam_i) (1 - e^(-(1-lam_i)t/tau)), the areas agree to 1e-3."""
    with opened(stores, "autapse_pair") as ds:
        left, right = autapse_pair.loop_figure(ds).axes
        h = ds["h"]
        area = ds["loop_area"].values
        theory_area = ds["loop_area_theory"].values
        # The report's slice: lam1 = 0.8 (slowest) against lam2 = -2, tau 0.1 s.
        assert "lam1 (λ1) = 0.8, lam2 (λ2) = -2, tau (τ) = 0.1 s" in left.get_title()
        lam2, tau = -2.0, 0.1
        inputs = h.sel(lam1=0.8, lam2=lam2, tau=tau).transpose("input_angle", "neuron").values
        rate = ds["rate"].sel(lam1=0.8, lam2=lam2, tau=tau).isel(input_angle=0)
    crosses = next(line for line in left.lines if line.get_marker() == "x")
    expected = inputs / (1 - np.array([0.8, lam2]))
    np.testing.assert_allclose(np.column_stack(data(crosses)), expected, rtol=1e-12)
    theory, out, back = left.lines[0], left.lines[1], left.lines[2]
    assert theory.get_label().startswith("theory") and out.get_label().startswith("simulated")
    time = rate["time"].values
    k = (1 - np.array([0.8, lam2]))[:, None] / tau

    def closed(t):
        on, after = np.clip(t - 0.05, 0, 0.4), np.clip(t - 0.45, 0, None)
        return inputs[0][:, None] / (k * tau) * (1 - np.exp(-k * on)) * np.exp(-k * after)

    dense = np.linspace(time[0], time[-1], DENSE)  # the closed form on a fine grid
    np.testing.assert_allclose(np.vstack(data(theory)), closed(dense), rtol=1e-9, atol=1e-12)
    recorded = rate.transpose("neuron", "time").values
    np.testing.assert_allclose(recorded, closed(time), rtol=1e-9, atol=1e-12)
    for line in (out, back):  # each sample drawn is a recorded sample
        for v in np.column_stack(data(line)):
            assert np.isclose(recorded.T, v, rtol=0, atol=1e-12).all(axis=1).any()
    (shown,) = markers(right)
    assert_every_value_drawn(shown, theory_area, area)
    x, y = data(shown)
    np.testing.assert_allclose(y, x, rtol=0, atol=1e-3 * np.abs(theory_area).max())
    assert np.abs(x).max() > 0.1  # loops, not points at the origin


@pytest.mark.parametrize(
    ("name", "matrix", "theory"),
    [
        ("spectrum", "gain_matrix", lambda ds: np.linalg.inv(np.eye(8) - ds["weights"].values)),
        (
            "feedforward",
            "transfer",
            lambda ds: np.linalg.solve(
                np.eye(5) - ds["weights"].values, ds["feedforward_weights"].values
            ),
        ),
    ],
)
def test_heat_maps_show_the_measured_matrix_beside_inverse_of_i_minus_m(
    stores, name, matrix, theory
):
    """Theory's map is (I - M)^-1 (W) to 1e-10; the measured map agrees to 1e-3 of its largest."""
    with opened(stores, name) as ds:
        fig = matrices.matrix_figure(ds, matrix)
        point = ds.isel(seed=1, tau=0)  # the report's slice: the upper middle of 2 seeds
        expected = theory(point)
        every = ds[matrix].values
        every_theory = ds[f"{matrix}_theory"].values
    measured_ax, theory_ax, diagonal_ax = fig.axes[:3]
    assert "seed = 1" in measured_ax.get_title()
    shown_theory = np.asarray(theory_ax.images[0].get_array())
    shown_measured = np.asarray(measured_ax.images[0].get_array())
    np.testing.assert_allclose(shown_theory, expected, rtol=1e-10, atol=1e-12)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(shown_measured, expected, rtol=0, atol=1e-3 * scale)
    assert_every_value_drawn(markers(diagonal_ax)[0], every_theory, every)  # every component
    x, y = data(markers(diagonal_ax)[0])
    np.testing.assert_allclose(y, x, rtol=0, atol=1e-3 * np.abs(x).max())


def test_integrator_ramps_at_h_a_over_tau_and_holds_h_a_t_over_tau(stores):
    """For w = 1 the lam = 1 mode is (1, 1)/sqrt2: c = (h1 + h2)/sqrt2 (t - onset)/tau, held."""
    with opened(stores, "integrator") as ds:
        panel = {"coupling": 1, "tau": 0, "amplitude": 1}
        drawn = integrator.ramp_hold(ds, panel)
        h = ds["h"].isel(panel).transpose("input_angle", "neuron").values
        tau, onset, offset = 0.02, float(ds["onset"]), float(ds["offset"])
        time = ds["time"].values
        fig = integrator.ramp_hold_figure(ds)
    h_a = (h[:, 0] + h[:, 1]) / np.sqrt(2)
    np.testing.assert_allclose(drawn["slope"].values, h_a / tau, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(drawn["held"].values, h_a * (offset - onset) / tau, atol=1e-9)
    ramp = h_a[:, None] / tau * np.clip(time - onset, 0, offset - onset)[None, :]
    np.testing.assert_allclose(
        drawn["activity"].values, ramp, rtol=0, atol=1e-6 * np.abs(ramp).max()
    )
    assert np.abs(drawn["held"].values).max() == pytest.approx(
        10.0
    )  # 1 Hz along the mode, 0.2 s / 0.02 s
    # The drawn theory: on a fine grid, 0, the ramp, then the hold, one line per value of
    # the ramp (directions with the same input to the mode share it), every value drawn.
    right = fig.axes[1]
    lines = [line for line in right.lines if line.get_linestyle() == "-"]
    held = []
    for line in lines:
        t, c = data(line)
        assert len(t) >= DENSE
        held.append(c[-1])
        np.testing.assert_allclose(
            c, c[-1] * np.clip(t - onset, 0, offset - onset) / (offset - onset), atol=1e-9
        )
    np.testing.assert_allclose(
        sorted(held), sorted(set(np.round(drawn["held"].values, 9))), atol=1e-9
    )


def test_runaway_grows_along_the_theory_slope_and_marks_the_divergence(stores):
    """log|v| rises at (w - 1)/tau: the line's slope, the fit, and the samples along the line."""
    with opened(stores, "runaway") as ds:
        couplings, tau = ds["coupling"].values, float(ds["tau"][0])
        lines = [runaway.growth_lines(ds, {"coupling": k, "input_angle": 0, "tau": 0})
                 for k in range(len(couplings))]  # fmt: skip
        diverged = np.isfinite(ds["diverged_at"].isel(input_angle=0, tau=0).values)
        fig = runaway.runaway_figure(ds)
        # The figure's slice is the report's: tau 0.05 s of 0.01 and 0.05.
        in_figure = np.isfinite(ds["diverged_at"].isel(input_angle=0, tau=1).values).sum()
    for w, drawn, blew_up in zip(couplings, lines, diverged, strict=True):
        growth = (w - 1) / tau
        assert drawn["theory"] == pytest.approx(growth, rel=1e-12)
        assert drawn["fitted"] == pytest.approx(growth, rel=1e-6)
        times, values = drawn["line"]
        finite = np.isfinite(drawn["size"])
        recorded, at = drawn["size"][finite], drawn["time"][finite]
        assert len(times) >= DENSE and times[-1] == at[-1]  # to the last recorded sample
        # Input onto neuron 1: modes (1, +-1)/sqrt2 get h/sqrt2 each; |v| = |c+ phi+ + c- phi-|.
        k_up, k_down = (1 - w) / tau, (1 + w) / tau

        def size(t, k_up=k_up, k_down=k_down, w=w):
            on = np.clip(t - 0.05, 0, 0.2)
            after = np.clip(t - 0.25, 0, None)
            up = (1 - np.exp(-k_up * on)) / (1 - w) * np.exp(-k_up * after) / np.sqrt(2)
            down = (1 - np.exp(-k_down * on)) / (1 + w) * np.exp(-k_down * after) / np.sqrt(2)
            return np.hypot(up, down)

        np.testing.assert_allclose(values, size(times), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(recorded, size(at), rtol=1e-6, atol=1e-12)
        # Where it ends, log|v| rises at the unstable mode's rate.
        slope = np.log(values[-1] / values[-2]) / (times[-1] - times[-2])
        assert slope == pytest.approx(growth, rel=0.01)
        assert (drawn["diverged"] is not None) == blew_up
    assert diverged.sum() == 4  # w = 1.5, 2, 3, 50 at tau = 0.01
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert sum(line.get_marker() == "x" for line in ax.lines) == in_figure == 2  # w = 3, 50
    assert "decay" not in "".join(line.get_label() for line in ax.lines)  # growth, said so


def test_saturating_memory_settles_on_the_solution_of_v_equals_tanh_lam_v(stores):
    """The curve solves v = tanh(lam v) (ceiling 1 Hz) to 1e-12; every final rate lies on it."""
    with opened(stores, "saturating_memory") as ds:
        ax = saturating.fixed_point_figure(ds).axes[0]
    curves = [line for line in ax.lines if line.get_label().startswith("theory")]
    assert len(curves) == 2
    for curve in curves:
        lam, v = data(curve)
        defined = np.isfinite(v)
        np.testing.assert_allclose(v[defined], np.tanh(lam[defined] * v[defined]), atol=1e-12)
        above = lam > 1.01
        assert (np.abs(v[above]) > 0.01).all()  # the nonzero branch, not the unstable 0
        assert (v[lam < 1] == 0).all()
    points = markers(ax)
    assert len(points) == 2  # one per sign of the input
    for line in points:
        lam, v = data(line)
        sign = 1.0 if "h = +" in line.get_label() else -1.0
        u = np.array([_tanh_root(x) for x in lam])
        np.testing.assert_allclose(v, sign * u, rtol=0, atol=1e-3)


def _tanh_root(lam: float) -> float:
    """The positive root of u = tanh(lam u) (0 for lam <= 1), by fixed-point iteration."""
    if lam <= 1:
        return 0.0
    u = 1.0
    for _ in range(2000):
        u = np.tanh(lam * u)
    return float(u)


def test_nonsymmetric_rates_lie_on_their_theory_lines_and_spirals_head_for_the_steady_state(
    stores,
):
    with opened(stores, "nonsymmetric") as ds:
        decay_ax, frequency_ax = nonsymmetric.rates_figure(ds).axes
        spiral_ax = nonsymmetric.spiral_figure(ds).axes[0]
        point = ds.sel(lam_real=0.5).isel(tau=0)
        weights = point["weights"].transpose("lam_imag", "neuron", "source").values
        h = point["h"].transpose("lam_imag", "neuron").values
        modes = ds["design_eigenvalues"].isel(tau=0).values
        decay = ds["decay_rate"].isel(tau=0).values
    tau = 0.02
    assert_every_value_drawn(markers(decay_ax)[0], np.real(modes), decay)  # every mode
    x, y = data(markers(decay_ax)[0])
    np.testing.assert_allclose(y, (1 - x) / tau, rtol=1e-3)
    x, y = data(markers(frequency_ax)[0])
    np.testing.assert_allclose(y, x / tau, rtol=0, atol=1e-3 * np.abs(1 - x).max() / tau)
    assert set(np.round(np.abs(x), 6)) == {0.0, 0.5, 1.0, 2.0}
    for ax, rate in (
        (decay_ax, lambda lam: (1 - lam) / tau),
        (frequency_ax, lambda lam: lam / tau),
    ):
        theory = next(line for line in ax.lines if line.get_label().startswith("theory"))
        lam, value = data(theory)
        np.testing.assert_allclose(value, rate(lam), rtol=1e-12, atol=1e-9)
    crosses = next(line for line in spiral_ax.lines if line.get_marker() == "x")
    steady = np.linalg.solve(np.eye(2)[None] - weights, h[..., None])[..., 0]
    np.testing.assert_allclose(np.column_stack(data(crosses)), steady, rtol=1e-12)
    assert "lam_real (Re λ) = 0.5" in spiral_ax.get_title()


def test_matrix_modes_relax_each_as_its_own_autapse(stores):
    """M = [[0, 0.8], [0.8, 0]], h = (1, 0): modes +-0.8 get 1/sqrt2 each and settle at
    (1/sqrt2)/(1 -+ 0.8) with time constants tau/(1 -+ 0.8)."""
    with opened(stores, "matrix") as ds:
        ax = matrix.modes_figure(ds).axes[0]
        onset, offset, tau = float(ds["onset"]), float(ds["offset"]), 0.01
    theories = [line for line in ax.lines if line.get_label().endswith(": theory")]
    samples = markers(ax)
    assert len(theories) == len(samples) == 2
    for theory, sample in zip(theories, samples, strict=True):
        lam = 0.8 if "λ = 0.8" in theory.get_label() else -0.8
        for t, c in (data(theory), data(sample)):
            k = (1 - lam) / tau
            on, after = np.clip(t - onset, 0, offset - onset), np.clip(t - offset, 0, None)
            closed = 1 / np.sqrt(2) / (1 - lam) * (1 - np.exp(-k * on)) * np.exp(-k * after)
            np.testing.assert_allclose(np.abs(c), closed, rtol=1e-9, atol=1e-12)
    # The slow mode (gain 5, tau_eff 0.05 s) is still e^-4 short of its plateau at the offset.
    # (the line's grid falls within a step of 1 ms of the offset, where it peaks)
    peak = max(np.abs(data(line)[1]).max() for line in theories)
    assert peak <= 1 / np.sqrt(2) / 0.2 * (1 - np.exp(-4)) * (1 + 1e-12)
    assert peak == pytest.approx(1 / np.sqrt(2) / 0.2 * (1 - np.exp(-4)), rel=1e-3)
