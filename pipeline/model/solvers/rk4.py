"""The rate model with any transfer function, integrated by classical Runge-Kutta (pure numpy).

With a saturating transfer function ``tau dv/dt = -v + f(M v + h(t))`` has
no closed form.  :func:`rk4_rate` integrates it (any ``f``, the linear one
included) through the same pieces as the exact solver, in equal steps of at
most ``max_step`` that end exactly on the input's switch times, so the
fourth-order accuracy holds across a switch.
"""

from __future__ import annotations

import math

import numpy as np

from pipeline.model.solvers.schedule import Step, System, interval_pieces, march, point_first


def rk4_rate(system: System, times: np.ndarray, *, max_step: float | None = None) -> np.ndarray:
    """Integrate ``tau dv/dt = -v + f(M v + h(t))`` from rest by classical Runge-Kutta.

    Every point of the batch advances together, through the same pieces as
    the exact solver (:func:`pipeline.model.solvers.schedule.march`): every
    recording interval, cut at the input's switches (a switch within a
    billionth of the recording step of a sample is taken to fall on it).
    Each piece is crossed in equal steps of at most ``max_step``, so no step
    straddles a switch and the fourth-order accuracy holds across it.

    Parameters
    ----------
    system : System
        Its ``transfer`` is the ``f`` applied elementwise; its modes are not used.
    times : (n_time,) ndarray
        Uniformly spaced recording times in seconds.
    max_step : float
        Largest integration step in seconds (default: the recording step).

    Returns
    -------
    rate : (n_batch, n_time, n_neuron) ndarray
        ``v`` at every recording time; non-finite where the solution overflows.
    """
    schedule = interval_pieces(times, system.switch_times)
    weights, inputs, transfer = system.weights, system.inputs, system.transfer
    largest = max_step or (times[1] - times[0] if times.size > 1 else 1.0)
    rate_of_change = 1.0 / system.tau[:, None]

    def derivative(v: np.ndarray, h: np.ndarray) -> np.ndarray:
        recurrent = np.matmul(weights, v[..., None])[..., 0]
        return (transfer(recurrent + h) - v) * rate_of_change

    def propagator(duration: float, epoch: int) -> Step:
        n_steps = max(1, math.ceil(duration / largest - 1e-9))
        step, h = duration / n_steps, inputs[:, epoch]

        def advance(v: np.ndarray, out: np.ndarray) -> None:
            for _ in range(n_steps):
                k1 = derivative(v, h)
                k2 = derivative(v + 0.5 * step * k1, h)
                k3 = derivative(v + 0.5 * step * k2, h)
                k4 = derivative(v + step * k3, h)
                v = v + step / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            out[...] = v

        return advance

    with np.errstate(over="ignore", invalid="ignore"):
        return point_first(march(schedule, np.zeros(inputs[:, 0].shape), propagator))
