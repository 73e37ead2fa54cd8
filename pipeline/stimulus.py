"""The step input of every sweep: off, on from ``onset`` to ``offset``, off again."""

from __future__ import annotations

import numpy as np


def step_inputs(h: np.ndarray, onset: float, offset: float) -> tuple[np.ndarray, np.ndarray]:
    """Epochs of a step input for the solvers.

    Parameters
    ----------
    h : (n_batch, n_neuron) ndarray
        Input while the step is on.
    onset, offset : float
        Times in seconds at which the step starts and ends.

    Returns
    -------
    inputs : (n_batch, 3, n_neuron) ndarray
        Input before, during and after the step.
    switch_times : (2,) ndarray
        ``[onset, offset]``.
    """
    off = np.zeros_like(h)
    return np.stack([off, h, off], axis=1), np.array([onset, offset])
