"""Eigenmodes of a batch of weight matrices: ``M = Phi Lambda Phi^-1``.

In mode coordinates ``c = Phi^-1 v`` every mode of the linear rate model is
an autapse, ``tau dc_a/dt = -(1 - lam_a) c_a + (Phi^-1 h)_a``: the exact
solver steps each mode on its own, and the analysis measures each mode on
its own.  Both take the modes of a block from :func:`eigenmodes`, computed
once per block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EIGENVECTOR_CONDITION_LIMIT = 1e6
"""Above this condition number of ``Phi`` a matrix counts as not diagonalisable."""


@dataclass(frozen=True)
class Modes:
    """Eigenvalues, eigenvectors and the inverse of the eigenvector matrix, batched.

    Attributes
    ----------
    values : (n_batch, n) ndarray
        Eigenvalues, real if ``symmetric`` else complex, sorted as :func:`eigenmodes` says.
    vectors : (n_batch, n, n) ndarray
        ``vectors[b, :, a]`` is the unit eigenvector of mode ``a`` of point ``b``.
    inverse : (n_batch, n, n) ndarray
        ``Phi^-1``; the identity where ``defective``.
    defective : (n_batch,) bool ndarray
        ``M`` is not diagonalisable (``Phi`` is numerically singular): no mode coordinates.
    symmetric : bool
        Every ``M`` is symmetric, so ``Phi`` is orthogonal.
    """

    values: np.ndarray
    vectors: np.ndarray
    inverse: np.ndarray
    defective: np.ndarray
    symmetric: bool


def eigenmodes(weights: np.ndarray, symmetric: bool) -> Modes:
    """Eigenvalues, eigenvectors and ``Phi^-1`` of every weight matrix, ``M = Phi Lambda Phi^-1``.

    Modes are sorted by eigenvalue (real part, then imaginary part) and each
    eigenvector is scaled to unit length with its largest component real and
    positive, so the same network always gives the same modes.

    Parameters
    ----------
    weights : (n_batch, n, n) ndarray
    symmetric : bool
        Use the symmetric solver: real eigenvalues, orthonormal eigenvectors.

    Returns
    -------
    Modes
    """
    if symmetric:
        values, vectors = np.linalg.eigh(weights)
    else:
        values, vectors = np.linalg.eig(weights)
        values = values.astype(complex)
        vectors = vectors.astype(complex)
    order = np.lexsort((values.imag, values.real), axis=-1)
    values = np.take_along_axis(values, order, axis=-1)
    vectors = np.take_along_axis(vectors, order[:, None, :], axis=-1)
    vectors = vectors / np.linalg.norm(vectors, axis=-2, keepdims=True)
    vectors = vectors * _canonical_phase(vectors)
    if symmetric:
        defective = np.zeros(len(weights), dtype=bool)
        inverse = np.linalg.inv(vectors)
    else:
        defective = np.linalg.cond(vectors) > EIGENVECTOR_CONDITION_LIMIT
        inverse = np.linalg.inv(
            np.where(defective[:, None, None], np.eye(vectors.shape[-1]), vectors)
        )
    return Modes(values, vectors, inverse, defective, symmetric)


def _canonical_phase(vectors: np.ndarray) -> np.ndarray:
    """Per-mode factor that makes the first (near-)largest component real and positive."""
    magnitude = np.abs(vectors)
    leading = magnitude >= magnitude.max(axis=-2, keepdims=True) * (1 - 1e-9)
    first = np.argmax(leading, axis=-2)[:, None, :]
    pivot = np.take_along_axis(vectors, first, axis=-2)
    return np.conj(pivot) / np.abs(pivot)
