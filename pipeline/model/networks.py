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

from pipeline.registry import Registry


@dataclass(frozen=True)
class Circuit:
    """A batch of networks and the direction their step input takes.

    Attributes
    ----------
    weights : (n_batch, n_neuron, n_neuron) ndarray
        Recurrent weights ``M``, onto row from column.
    input_direction : (n_batch, n_neuron) or (n_batch, n_epoch, n_neuron) ndarray
        Unit-amplitude input pattern, or a sequence of patterns that share the
        step's on period (one per epoch); the stimulus scales it.
    symmetric : bool
        Whether every ``M`` is symmetric, so that its modes are real and orthogonal.
    extras : dict
        More per-point variables to store, ``name -> (dims, array, attrs)`` with
        the batch as the first axis and ``dims`` naming the others.
    input_rates : (n_batch, n_epoch, n_input) ndarray, optional
        Unit-amplitude rates of input neurons ``u`` when the input arrives
        through feed-forward weights, ``input_direction = W u``; the stimulus
        scales them like the input.
    """

    weights: np.ndarray
    input_direction: np.ndarray
    symmetric: bool
    extras: dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, str]]] = field(
        default_factory=dict
    )
    input_rates: np.ndarray | None = None


def _one_epoch(network: Any) -> int:
    return 1


@dataclass(frozen=True)
class NetworkKind:
    """A network builder, the grid parameters it reads and the theory checks it suits.

    ``checks`` name entries of :data:`analysis.checks.CHECKS`; the first is
    the default, ``analysis.check`` may choose another.  ``epochs`` says how
    many input patterns the step holds in turn, given the network's config.
    """

    build: Callable[[Mapping[str, np.ndarray], Any], Circuit]
    parameters: tuple[str, ...]
    optional: tuple[str, ...] = ()
    checks: tuple[str, ...] = ("linear_modes",)
    epochs: Callable[[Any], int] = _one_epoch


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


def autapse_pair(points: Mapping[str, np.ndarray], network: Any) -> Circuit:
    """Two neurons, each with only an autapse: ``M = diag(lam1, lam2)``.

    The input points along ``(cos input_angle, sin input_angle)``: onto one
    neuron, the other, or both.
    """
    lam1, lam2, angle = points["lam1"], points["lam2"], points["input_angle"]
    weights = np.zeros((lam1.size, 2, 2))
    weights[:, 0, 0], weights[:, 1, 1] = lam1, lam2
    return Circuit(
        weights=weights,
        input_direction=np.stack([np.cos(angle), np.sin(angle)], axis=-1),
        symmetric=True,
    )


def random_orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random orthogonal ``(n, n)`` matrix, uniform (Haar) over the orthogonal group.

    QR of a Gaussian matrix, with the signs of ``R``'s diagonal moved into
    ``Q`` so that the distribution does not depend on the QR convention.
    """
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def random_directions(rng: np.random.Generator, count: int, n: int) -> np.ndarray:
    """``count`` random unit vectors in ``n`` dimensions, uniform on the sphere, as rows."""
    x = rng.standard_normal((count, n))
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _designed(eigenvalues: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``M = Q diag(eigenvalues) Q^T`` with ``Q`` random orthogonal; returns ``(M, Q)``."""
    q = random_orthogonal(rng, eigenvalues.size)
    m = (q * eigenvalues) @ q.T
    return (m + m.T) / 2, q


def _design_extras(eigenvalues: np.ndarray, vectors: np.ndarray) -> dict:
    """Store the eigenvalues and eigenvectors a network was built from (the theory's input)."""
    return {
        "design_eigenvalues": (
            ("mode",),
            eigenvalues,
            {"long_name": "eigenvalue the network was built with", "units": "1"},
        ),
        "design_eigenvectors": (
            ("neuron", "mode"),
            vectors,
            {"long_name": "eigenvector the network was built with", "units": "1"},
        ),
    }


def spectrum(points: Mapping[str, np.ndarray], network: Any) -> Circuit:
    """N neurons with chosen eigenvalues on random orthogonal eigenvectors.

    ``M = Q diag(lam) Q^T`` with ``lam = network.eigenvalues`` (ascending) and
    ``Q`` drawn from ``np.random.default_rng(seed)``.  The step holds, in
    turn, each eigenvector (by ascending eigenvalue) and then
    ``network.random_inputs`` random unit directions.
    """
    eigenvalues = np.sort(np.asarray(network.eigenvalues, dtype=float))
    seeds = points["seed"]
    n = eigenvalues.size
    weights = np.empty((seeds.size, n, n))
    vectors = np.empty((seeds.size, n, n))
    directions = np.empty((seeds.size, n + network.random_inputs, n))
    for b, seed in enumerate(seeds):
        rng = np.random.default_rng(int(seed))
        weights[b], vectors[b] = _designed(eigenvalues, rng)
        directions[b, :n] = vectors[b].T
        directions[b, n:] = random_directions(rng, network.random_inputs, n)
    return Circuit(
        weights=weights,
        input_direction=directions,
        symmetric=True,
        extras=_design_extras(np.broadcast_to(eigenvalues, (seeds.size, n)).copy(), vectors),
    )


def feedforward(points: Mapping[str, np.ndarray], network: Any) -> Circuit:
    """Input neurons ``u`` drive a recurrent network through weights ``W``: ``h = W u``.

    The recurrent part is built as in :func:`spectrum`; ``W`` is
    ``(n_neuron, network.inputs)`` with independent normal entries of
    variance ``1 / network.inputs``.  The step holds, in turn, each input
    neuron alone at unit rate and then as many random unit input patterns.
    """
    eigenvalues = np.sort(np.asarray(network.eigenvalues, dtype=float))
    seeds = points["seed"]
    n, n_in = eigenvalues.size, network.inputs
    weights = np.empty((seeds.size, n, n))
    vectors = np.empty((seeds.size, n, n))
    w_in = np.empty((seeds.size, n, n_in))
    rates = np.empty((seeds.size, 2 * n_in, n_in))
    for b, seed in enumerate(seeds):
        rng = np.random.default_rng(int(seed))
        weights[b], vectors[b] = _designed(eigenvalues, rng)
        w_in[b] = rng.standard_normal((n, n_in)) / np.sqrt(n_in)
        rates[b] = np.concatenate([np.eye(n_in), random_directions(rng, n_in, n_in)])
    extras = _design_extras(np.broadcast_to(eigenvalues, (seeds.size, n)).copy(), vectors)
    extras["feedforward_weights"] = (
        ("neuron", "input"),
        w_in,
        {"long_name": "feed-forward weight onto neuron from input neuron", "units": "1"},
    )
    return Circuit(
        weights=weights,
        input_direction=np.einsum("bni,bki->bkn", w_in, rates),
        symmetric=True,
        extras=extras,
        input_rates=rates,
    )


def nonsymmetric(points: Mapping[str, np.ndarray], network: Any) -> Circuit:
    """Two neurons with ``M = [[a, 1], [-b^2, a]]``: eigenvalues ``a +- i b``.

    ``a = lam_real``, ``b = lam_imag``.  Neuron 2 excites neuron 1 and is
    inhibited by it, so activity rotates; at ``b = 0`` the matrix is a
    Jordan block (not diagonalisable).  The input drives neuron 2, so that
    the activity leaves every eigen-direction.
    """
    a, b = points["lam_real"], points["lam_imag"]
    weights = np.empty((a.size, 2, 2))
    weights[:, 0, 0] = weights[:, 1, 1] = a
    weights[:, 0, 1] = 1.0
    weights[:, 1, 0] = -(b**2)
    eigenvalues = np.stack([a - 1j * np.abs(b), a + 1j * np.abs(b)], axis=-1)
    return Circuit(
        weights=weights,
        input_direction=np.broadcast_to([0.0, 1.0], (a.size, 2)).copy(),
        symmetric=False,
        extras={
            "design_eigenvalues": (
                ("mode",),
                eigenvalues,
                {"long_name": "eigenvalue the network was built with", "units": "1"},
            )
        },
    )


def _spectrum_epochs(network: Any) -> int:
    return len(network.eigenvalues) + network.random_inputs


def _feedforward_epochs(network: Any) -> int:
    return 2 * network.inputs


NETWORKS: Registry[str, NetworkKind] = Registry(
    "network kind",
    NetworkKind,
    {
        "autapse": NetworkKind(
            build=autapse,
            parameters=("lam",),
            checks=("linear_modes", "integrator", "runaway", "saturating"),
        ),
        "pair": NetworkKind(
            build=pair,
            parameters=("coupling", "input_angle"),
            checks=("pair", "linear_modes", "integrator", "runaway"),
        ),
        "autapse_pair": NetworkKind(
            build=autapse_pair,
            parameters=("lam1", "lam2", "input_angle"),
            checks=("autapse_pair", "linear_modes"),
        ),
        "spectrum": NetworkKind(
            build=spectrum, parameters=("seed",), checks=("gain_matrix",), epochs=_spectrum_epochs
        ),
        "feedforward": NetworkKind(
            build=feedforward,
            parameters=("seed",),
            checks=("feedforward",),
            epochs=_feedforward_epochs,
        ),
        "nonsymmetric": NetworkKind(
            build=nonsymmetric, parameters=("lam_real", "lam_imag"), checks=("nonsymmetric",)
        ),
        "matrix": NetworkKind(build=matrix, parameters=()),
    },
)
"""Every network a sweep can name in ``network.kind``; another package adds one with
``NETWORKS.register(name, NetworkKind(...))``."""
