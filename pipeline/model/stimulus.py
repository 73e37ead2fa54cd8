"""The step input of every sweep: off, on from ``onset`` to ``offset``, off again.

While it is on, the step may hold one input pattern or a sequence of ``K``
patterns, each for an equal share of the on period (the epochs in which a
network is probed along several input directions in turn).
"""

from __future__ import annotations

import numpy as np


def epoch_starts(onset: float, offset: float, n_epoch: int) -> np.ndarray:
    """Times in seconds at which each of ``n_epoch`` equal input epochs starts."""
    return onset + (offset - onset) * np.arange(n_epoch) / n_epoch


def step_inputs(h: np.ndarray, onset: float, offset: float) -> tuple[np.ndarray, np.ndarray]:
    """Epochs of a step input for the solvers.

    Parameters
    ----------
    h : (n_batch, n_neuron) or (n_batch, n_epoch, n_neuron) ndarray
        Input while the step is on: one pattern, or a sequence of patterns
        that share the on period equally.
    onset, offset : float
        Times in seconds at which the step starts and ends.

    Returns
    -------
    inputs : (n_batch, n_epoch + 2, n_neuron) ndarray
        Input before, during (each epoch) and after the step.
    switch_times : (n_epoch + 1,) ndarray
        The epoch starts, then ``offset``.
    """
    sequence = h if h.ndim == 3 else h[:, None, :]
    off = np.zeros_like(sequence[:, :1])
    starts = epoch_starts(onset, offset, sequence.shape[1])
    return np.concatenate([off, sequence, off], axis=1), np.append(starts, offset)
