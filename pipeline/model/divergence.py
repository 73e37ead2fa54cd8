"""When a trajectory diverges: its ``|v|`` passes a bound or stops being finite."""

from __future__ import annotations

import numpy as np


def first_divergence(rate: np.ndarray, times: np.ndarray, bound: float) -> np.ndarray:
    """Time at which each point's ``|v|`` first exceeds ``bound`` or stops being finite.

    Parameters
    ----------
    rate : (n_batch, n_time, n_neuron) ndarray
    times : (n_time,) ndarray
    bound : float

    Returns
    -------
    (n_batch,) ndarray
        The first such recording time, NaN where the trajectory stays bounded.
    """
    # Two passes without temporaries settle the common case; NaN fails both comparisons.
    bounded = (rate.max(axis=(1, 2)) <= bound) & (rate.min(axis=(1, 2)) >= -bound)
    diverged_at = np.full(len(rate), np.nan)
    escaping = np.flatnonzero(~bounded)
    with np.errstate(invalid="ignore"):
        escaped = ~(np.abs(rate[escaping]) <= bound).all(axis=-1)
    diverged_at[escaping] = times[np.argmax(escaped, axis=-1)]
    return diverged_at
