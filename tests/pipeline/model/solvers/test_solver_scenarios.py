"""Trajectories of every linear scenario against their closed forms, to 1e-6.

Each sweep's default grid is simulated through the pipeline (network
builder, stimulus, exact solver) and every recorded rate is compared with
the solution written out by hand: mode by mode for symmetric networks, and
with the explicit matrix exponential for the non-symmetric ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sweeps import simulate_sweep

RTOL = 1e-6
"""Trajectories against closed form: within 1e-6 of the largest rate of the point."""


def _mode_step(lam, drive, tau, t, onset, offset):
    """Autapse ``tau dc/dt = -(1 - lam) c + h`` from rest, ``h = drive`` on [onset, offset].

    ``c = h/(1-lam) (1 - exp(-(1-lam) s/tau))`` while on (``s = t - onset``),
    ``h s/tau`` at ``lam = 1``; after the offset ``c(offset) exp(-(1-lam)(t-offset)/tau)``.
    """

    def on(s):
        if lam == 1:
            return drive * s / tau
        return drive / (1 - lam) * -np.expm1(-(1 - lam) * s / tau)

    s = np.clip(t - onset, 0, offset - onset)
    after = np.clip(t - offset, 0, None)
    return on(s) * np.exp(-(1 - lam) * after / tau)


def _assert_close(rate, expected):
    scale = np.abs(expected).max()
    assert_allclose(rate, expected, rtol=RTOL, atol=RTOL * scale)


def _pair_closed_form(w, angle, tau, t, onset, offset):
    """``M = [[0, w], [w, 0]]``: mode +w on (1, 1)/sqrt2, mode -w on (1, -1)/sqrt2."""
    h = np.array([np.cos(angle), np.sin(angle)])
    same, opposite = np.array([1, 1]) / np.sqrt(2), np.array([1, -1]) / np.sqrt(2)
    return sum(
        np.outer(_mode_step(lam, h @ phi, tau, t, onset, offset), phi)
        for lam, phi in ((w, same), (-w, opposite))
    )


@pytest.mark.parametrize("sweep", ["pair", "mutual_inhibition", "integrator", "runaway"])
def test_pair_network_trajectories_follow_the_modes(sweep):
    """Every point of the pair-network sweeps, up to its divergence (runaway), mode by mode."""
    ds = simulate_sweep([f"+sweep={sweep}"])
    t = ds["time"].values
    onset, offset = float(ds["onset"]), float(ds["offset"])
    stacked = ds.stack(point=[d for d in ds["status"].dims])
    for i in range(stacked.sizes["point"]):
        p = stacked.isel(point=i)
        amplitude = float(p["amplitude"]) if "amplitude" in p.coords else 1.0
        with np.errstate(over="ignore", invalid="ignore"):  # runaway: past the bound only
            expected = amplitude * _pair_closed_form(
                float(p["coupling"]), float(p["input_angle"]), float(p["tau"]), t, onset, offset
            )
        rate = p["rate"].values
        finite = np.isfinite(rate).all(axis=-1)
        assert finite[0]
        _assert_close(rate[finite], expected[finite])


def test_autapse_pair_trajectories_are_two_independent_autapses():
    ds = simulate_sweep(["+sweep=autapse_pair"])
    t = ds["time"].values
    onset, offset = float(ds["onset"]), float(ds["offset"])
    stacked = ds.stack(point=list(ds["status"].dims))
    for i in range(stacked.sizes["point"]):
        p = stacked.isel(point=i)
        angle, tau = float(p["input_angle"]), float(p["tau"])
        expected = np.stack(
            [
                _mode_step(float(p["lam1"]), np.cos(angle), tau, t, onset, offset),
                _mode_step(float(p["lam2"]), np.sin(angle), tau, t, onset, offset),
            ],
            axis=-1,
        )
        _assert_close(p["rate"].values, expected)


def _propagator(a, b, tau, s):
    """``exp((M - I) s/tau)`` for ``M = [[a, 1], [-b^2, a]]``, written out.

    With ``N = M - a I``, ``N^2 = -b^2 I``, so ``exp(N x) = cos(b x) I + sin(b x)/b N``
    (``I + x N`` at ``b = 0``, the Jordan block).
    """
    x = s / tau
    n = np.array([[0.0, 1.0], [-(b**2), 0.0]])
    if b == 0:
        rotation = np.eye(2) + x * n
    else:
        rotation = np.cos(b * x) * np.eye(2) + np.sin(b * x) / b * n
    return np.exp((a - 1) * x) * rotation


def test_nonsymmetric_trajectories_spiral_as_the_explicit_exponential_says():
    """Rising towards (I - M)^-1 h, then decaying from where the step left it."""
    ds = simulate_sweep(["+sweep=nonsymmetric"])
    t = ds["time"].values
    onset, offset = float(ds["onset"]), float(ds["offset"])
    h = np.array([0.0, 1.0])
    stacked = ds.stack(point=list(ds["status"].dims))
    for i in range(stacked.sizes["point"]):
        p = stacked.isel(point=i)
        a, b, tau = float(p["lam_real"]), float(p["lam_imag"]), float(p["tau"])
        steady = np.array([[1 - a, 1.0], [-(b**2), 1 - a]]) @ h / ((1 - a) ** 2 + b**2)
        expected = np.zeros((t.size, 2))
        for k, time in enumerate(t):
            if onset <= time <= offset:
                expected[k] = steady - _propagator(a, b, tau, time - onset) @ steady
            elif time > offset:
                left = steady - _propagator(a, b, tau, offset - onset) @ steady
                expected[k] = _propagator(a, b, tau, time - offset) @ left
        _assert_close(p["rate"].values, expected)
