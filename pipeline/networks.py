"""Weight matrices and input directions of the lecture's networks, batched.

Weights follow the lecture's convention, post-synaptic index first:
``weights[b, i, j]`` is the weight onto neuron ``i`` from neuron ``j`` at
sweep point ``b``.  Every builder takes the flattened parameter values of a
block of sweep points (``(n_batch,)`` arrays keyed by parameter name) and the
network's config section, and returns a :class:`Circuit`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Circuit:
    """A batch of networks and the direction their step input takes.

    Attributes
    ----------
    weights : (n_batch, n_neuron, n_neuron) ndarray
        Recurrent weights ``M``, onto row from column.
    input_direction : (n_batch, n_neuron) ndarray
        Unit-amplitude input pattern; the stimulus scales it.
    symmetric : bool
        Whether every ``M`` is symmetric, so that its modes are real and orthogonal.
    extras : dict
        More per-point variables to store, ``name -> (dims, array, attrs)`` with
        the batch as the first axis and ``dims`` naming the others.
    """

    weights: np.ndarray
    input_direction: np.ndarray
    symmetric: bool
    extras: dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, str]]] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class NetworkKind:
    """A network builder, the grid parameters it reads and the theory check it gets.

    ``check`` names an entry of :data:`analysis.checks.CHECKS`.
    """

    build: Callable[[Mapping[str, np.ndarray], Any], Circuit]
    parameters: tuple[str, ...]
    optional: tuple[str, ...] = ()
    check: str = "linear_modes"


def autapse(points: Mapping[str, np.ndarray], network: Any) -> Circuit:
    """One neuron feeding back onto itself: ``M = [[lam]]``, input ``h = [1]``."""
    lam = points["lam"]
    return Circuit(
        weights=lam[:, None, None].copy(),
        input_direction=np.ones((lam.size, 1)),
        symmetric=True,
    )


def pair(points: Mapping[str, np.ndarray], network: Any) -> Circuit:
    """Two neurons coupled symmetrically: ``M = [[0, w], [w, 0]]``.

    The input points along ``(cos input_angle, sin input_angle)``.
    """
    w, angle = points["coupling"], points["input_angle"]
    weights = np.zeros((w.size, 2, 2))
    weights[:, 0, 1] = weights[:, 1, 0] = w
    return Circuit(
        weights=weights,
        input_direction=np.stack([np.cos(angle), np.sin(angle)], axis=-1),
        symmetric=True,
    )


def matrix(points: Mapping[str, np.ndarray], network: Any) -> Circuit:
    """The same given weights ``M = network.weights`` at every point.

    The input points along ``network.input_direction``, scaled to unit length.
    """
    size = points["tau"].size
    weights = np.asarray(network.weights, dtype=float)
    direction = np.asarray(network.input_direction, dtype=float)
    return Circuit(
        weights=np.broadcast_to(weights, (size, *weights.shape)).copy(),
        input_direction=np.broadcast_to(
            direction / np.linalg.norm(direction), (size, direction.size)
        ).copy(),
        symmetric=True,
    )


NETWORKS: dict[str, NetworkKind] = {
    "autapse": NetworkKind(build=autapse, parameters=("lam",)),
    "pair": NetworkKind(build=pair, parameters=("coupling", "input_angle")),
    "matrix": NetworkKind(build=matrix, parameters=()),
}
"""Every network a sweep can name in ``network.kind``."""


def eigenmodes(weights: np.ndarray, symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of every weight matrix, ``M = Phi Lambda Phi^-1``.

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
    eigenvalues : (n_batch, n) ndarray, float if symmetric else complex
    eigenvectors : (n_batch, n, n) ndarray
        ``eigenvectors[b, :, a]`` is mode ``a`` of point ``b``.
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
    return values, vectors * _canonical_phase(vectors)


def _canonical_phase(vectors: np.ndarray) -> np.ndarray:
    """Per-mode factor that makes the first (near-)largest component real and positive."""
    magnitude = np.abs(vectors)
    leading = magnitude >= magnitude.max(axis=-2, keepdims=True) * (1 - 1e-9)
    first = np.argmax(leading, axis=-2)[:, None, :]
    pivot = np.take_along_axis(vectors, first, axis=-2)
    return np.conj(pivot) / np.abs(pivot)
