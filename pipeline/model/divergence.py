"""When a trajectory diverges: ``|v|`` passes a multiple of the point's own scale.

A point is diverged from the first recording time at which

    |v_i(t)| > factor * scale   for some neuron i,   or v(t) is not finite,

where ``scale`` is the point's largest input, the length ``|h|`` of its input
vector in the epoch where it is longest, or the ceiling of a saturating
transfer where that is larger.  A linear network has no ceiling: its
response scales with its input, so the bound scales with the input alone.
The length rather than the largest entry, because ``|v_i| <= |v|`` and a
stable symmetric network keeps ``|v(t)| <= max_a |1/(1-lam_a)| |h|`` after
a step from rest: a stable network driven hard therefore never diverges,
its rates stay within its gain times its input.  Only growth without bound
(an eigenvalue above 1) or a gain beyond ``factor`` carries a point past the
bound.
"""

from __future__ import annotations

import numpy as np


def divergence_bound(inputs: np.ndarray, ceiling: float, factor: float) -> np.ndarray:
    """``factor * max(max_epoch |h|, ceiling)`` of every point, ``|h|`` the input's length.

    Parameters
    ----------
    inputs : (n_batch, n_epoch, n_neuron) ndarray
        Hz; each point's input in each epoch.
    ceiling : float
        Hz; where the transfer saturates, ``inf`` for the linear one
        (:attr:`pipeline.model.transfer.Transfer.saturation`), which leaves the
        input alone as the scale.
    factor : float
        ``solver.divergence_factor``.

    Returns
    -------
    (n_batch,) ndarray
        Hz; the bound, at most the largest float, so that an overflow to ``inf``
        always passes it.
    """
    # hypot keeps the length of inputs near the largest float finite.
    length = np.hypot.reduce(inputs, axis=-1)
    largest = length.reshape(len(inputs), -1).max(axis=-1, initial=0.0)
    if np.isfinite(ceiling):
        largest = np.maximum(largest, ceiling)
    with np.errstate(over="ignore"):
        return np.minimum(factor * largest, np.finfo(float).max)


def first_divergence(rate: np.ndarray, times: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Time at which each point's ``|v|`` first exceeds its ``bound`` or stops being finite.

    Parameters
    ----------
    rate : (n_batch, n_time, n_neuron) ndarray
    times : (n_time,) ndarray
    bound : (n_batch,) ndarray or float

    Returns
    -------
    (n_batch,) ndarray
        The first such recording time, NaN where the trajectory stays bounded.
    """
    bound = np.broadcast_to(np.asarray(bound, dtype=float), (len(rate),))
    # Two passes without temporaries settle the common case; NaN fails both comparisons.
    bounded = (rate.max(axis=(1, 2)) <= bound) & (rate.min(axis=(1, 2)) >= -bound)
    diverged_at = np.full(len(rate), np.nan)
    escaping = np.flatnonzero(~bounded)
    with np.errstate(invalid="ignore"):
        escaped = ~(np.abs(rate[escaping]) <= bound[escaping, None, None]).all(axis=-1)
    diverged_at[escaping] = times[np.argmax(escaped, axis=-1)]
    return diverged_at
