"""Closed forms the solver tests compare with."""

from __future__ import annotations

import itertools

import numpy as np


def clip_autapse(lam, h, tau, onset, offset, times):
    """``tau dv/dt = -v + clip(lam v + h, -1, 1)`` from rest, for a step ``h`` that
    drives ``x = lam v + h`` through the ceiling 1 once and, for lam < 1, back under it
    when the step ends: exponentials on each piece, joined where ``x`` reaches 1."""
    rate = -(1 - lam) / tau
    v_kink = (1 - h) / lam
    t_kink = onset + np.log(1 - v_kink * (1 - lam) / h) / rate
    linear = h / (1 - lam) * (1 - np.exp(rate * (times - onset)))
    saturated = 1 + (v_kink - 1) * np.exp(-(times - t_kink) / tau)
    v = np.where(times < onset, 0.0, np.where(times < t_kink, linear, saturated))
    if lam < 1:
        v_off = 1 + (v_kink - 1) * np.exp(-(offset - t_kink) / tau)
        v = np.where(times >= offset, v_off * np.exp(rate * (times - offset)), v)
    return v


def radau_rates(system, times, rtol=1e-10, atol=1e-13):
    """``tau dv/dt = -v + f(M v + h(t))`` from rest by scipy's Radau at ``rtol``, point by
    point and piece by piece between the input's switches (dense output at ``times``)."""
    from scipy.integrate import solve_ivp

    edges = [0.0, *system.switch_times, times[-1]]
    out = np.zeros((len(system.tau), len(times), system.weights.shape[-1]))
    for b, (weights, tau) in enumerate(zip(system.weights, system.tau, strict=True)):
        v = np.zeros(weights.shape[-1])
        for epoch, (start, stop) in enumerate(itertools.pairwise(edges)):
            h = system.inputs[b, epoch]

            def rhs(_, x, weights=weights, tau=tau, h=h):
                return (system.transfer(weights @ x + h) - x) / tau

            solution = solve_ivp(
                rhs, (start, stop), v, method="Radau", rtol=rtol, atol=atol, dense_output=True
            )
            inside = (times >= start) & (times <= stop)
            out[b, inside] = solution.sol(times[inside]).T
            v = solution.y[:, -1]
    return out
