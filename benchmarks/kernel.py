"""Figures 1 and 2: the exact solver against solve_ivp and against a memory copy.

Both use pair networks (2 neurons) recorded at 1000 samples, the points of
the end-to-end benchmark.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from pipeline.model.networks import pair
from pipeline.model.solvers import System
from pipeline.model.solvers.exact import exact_rate
from pipeline.model.stimulus import step_inputs

ONSET, OFFSET = 0.05, 0.25
TIMES = np.linspace(0.0, 0.999, 1000)
IVP_TOLERANCES = {"rtol": 1e-9, "atol": 1e-12}
"""solve_ivp settings of the reference: its own error (~1e-9) stays far below the 1e-6 checked."""

LOOSE_TOLERANCES = {"rtol": 1e-7, "atol": 1e-10}
"""Looser settings, about the loosest that still agree with the exact solution to 1e-6."""


@dataclass(frozen=True)
class Batch:
    """Pair networks with their step inputs, as the solver takes them."""

    weights: np.ndarray
    tau: np.ndarray
    inputs: np.ndarray
    switch_times: np.ndarray

    def subset(self, n: int) -> Batch:
        return Batch(self.weights[:n], self.tau[:n], self.inputs[:n], self.switch_times)


def pair_batch(n_points: int, seed: int = 0) -> Batch:
    """Random stable pairs (|coupling| < 0.9), input angles and time constants."""
    rng = np.random.default_rng(seed)
    circuit = pair(
        {
            "coupling": rng.uniform(-0.9, 0.9, n_points),
            "input_angle": rng.uniform(0, np.pi, n_points),
        },
        None,
    )
    inputs, switch_times = step_inputs(circuit.input_direction, ONSET, OFFSET)
    return Batch(circuit.weights, rng.uniform(0.02, 0.1, n_points), inputs, switch_times)


def best_time(run: Callable[[], object], repeat: int = 3) -> float:
    """Shortest wall time of ``repeat`` runs, in seconds (the least disturbed one)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def kernel(batch: Batch) -> np.ndarray:
    system = System.of(batch.weights, batch.tau, batch.inputs, batch.switch_times, symmetric=True)
    return exact_rate(system, TIMES)


def ivp_rate(batch: Batch, tolerances: dict[str, float] = IVP_TOLERANCES) -> np.ndarray:
    """One ``solve_ivp`` (DOP853) per point and input epoch, sampled at ``TIMES``."""
    rates = []
    edges = [0.0, ONSET, OFFSET, TIMES[-1]]
    for weights, tau, inputs in zip(batch.weights, batch.tau, batch.inputs, strict=True):
        a = (weights - np.eye(2)) / tau
        v, pieces = np.zeros(2), []
        for epoch, (start, stop) in enumerate(itertools.pairwise(edges)):
            last = epoch == len(edges) - 2
            inside = TIMES[(TIMES >= start) & ((TIMES < stop) | last)]
            solution = solve_ivp(
                lambda t, v, a=a, drive=inputs[epoch] / tau: a @ v + drive,
                (start, stop),
                v,
                method="DOP853",
                dense_output=True,
                **tolerances,
            )
            pieces.append(solution.sol(inside).T)
            v = solution.y[:, -1]
        rates.append(np.concatenate(pieces))
    return np.stack(rates)


def versus_solve_ivp(n_points: int, n_ivp: int) -> dict[str, float]:
    """Figure 1: points per second of the kernel and of a solve_ivp loop, and their difference.

    Also the speed-up over the loop at :data:`LOOSE_TOLERANCES`, for comparison.
    """
    batch = pair_batch(n_points)
    kernel_rate = n_points / best_time(lambda: kernel(batch), repeat=15)
    few = batch.subset(n_ivp)
    exact = kernel(batch)[:n_ivp]
    peak = np.abs(exact).max(axis=(1, 2), keepdims=True)
    result = {"kernel_points_per_s": kernel_rate}
    for name, tolerances in (("", IVP_TOLERANCES), ("loose_", LOOSE_TOLERANCES)):
        reference = ivp_rate(few, tolerances)
        ivp_points_per_s = n_ivp / best_time(
            lambda tolerances=tolerances: ivp_rate(few, tolerances), repeat=2
        )
        result[f"{name}ivp_points_per_s"] = ivp_points_per_s
        result[f"{name}speedup"] = kernel_rate / ivp_points_per_s
        result[f"{name}relative_difference"] = float((np.abs(exact - reference) / peak).max())
    return result


def versus_copy(n_points: int) -> dict[str, float]:
    """Figure 2: kernel throughput over the throughput of ``np.copy`` of its output."""
    batch = pair_batch(n_points, seed=1)
    output = kernel(batch)
    kernel_time = best_time(lambda: kernel(batch), repeat=7)
    copy_time = best_time(lambda: np.copy(output), repeat=7)
    return {
        "output_mb": output.nbytes / 1e6,
        "kernel_mb_per_s": output.nbytes / kernel_time / 1e6,
        "copy_mb_per_s": output.nbytes / copy_time / 1e6,
        "ratio": copy_time / kernel_time,
    }
