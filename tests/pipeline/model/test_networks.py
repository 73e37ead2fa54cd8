"""Builders of the scenario networks: the matrices are what their docstrings promise."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from pipeline.model.modes import eigenmodes
from pipeline.model.networks import (
    NETWORKS,
    autapse_pair,
    feedforward,
    nonsymmetric,
    random_orthogonal,
    spectrum,
)

EIGENVALUES = [0.9, -2.0, 0.0, 0.5]


def test_autapse_pair_is_diagonal_with_the_input_along_the_angle():
    circuit = autapse_pair(
        {"lam1": np.array([0.8]), "lam2": np.array([-1.0]), "input_angle": np.array([np.pi / 3])},
        None,
    )
    assert_array_equal(circuit.weights[0], [[0.8, 0.0], [0.0, -1.0]])
    assert_allclose(circuit.input_direction[0], [0.5, np.sqrt(3) / 2])


def test_random_orthogonal_is_orthogonal():
    q = random_orthogonal(np.random.default_rng(0), 6)
    assert_allclose(q.T @ q, np.eye(6), atol=1e-14)


def test_spectrum_has_the_chosen_eigenvalues_and_probes_each_eigenvector():
    """M = Q diag(lam) Q^T: eigenvalues as chosen (1e-13); the first N inputs are Q's columns."""
    config = SimpleNamespace(eigenvalues=EIGENVALUES, random_inputs=3)
    circuit = spectrum({"seed": np.array([0.0, 1.0, 0.0])}, config)
    lam = np.sort(EIGENVALUES)
    values = eigenmodes(circuit.weights, symmetric=True).values
    assert_allclose(values, np.broadcast_to(lam, (3, 4)), atol=1e-13)
    q = circuit.extras["design_eigenvectors"][1]
    assert_allclose(circuit.weights, (q * lam) @ np.swapaxes(q, -1, -2), atol=1e-14)
    assert_allclose(np.swapaxes(circuit.input_direction[:, :4], -1, -2), q)
    assert_allclose(np.linalg.norm(circuit.input_direction, axis=-1), 1.0, rtol=1e-14)
    assert_array_equal(circuit.weights[0], circuit.weights[2])  # same seed, same network
    assert not np.allclose(circuit.weights[0], circuit.weights[1])
    assert NETWORKS["spectrum"].epochs(config) == 7


def test_feedforward_input_is_w_times_u_with_single_input_neurons_first():
    config = SimpleNamespace(eigenvalues=EIGENVALUES, inputs=2)
    circuit = feedforward({"seed": np.array([5.0])}, config)
    w = circuit.extras["feedforward_weights"][1][0]
    u = circuit.input_rates[0]
    assert w.shape == (4, 2)
    assert_array_equal(u[:2], np.eye(2))
    assert_allclose(np.linalg.norm(u[2:], axis=-1), 1.0, rtol=1e-14)
    assert_allclose(circuit.input_direction[0], u @ w.T, rtol=1e-14)
    assert NETWORKS["feedforward"].epochs(config) == 4


def test_nonsymmetric_has_eigenvalues_a_plus_minus_i_b_and_is_a_jordan_block_at_b_zero():
    a, b = np.array([0.5, 0.5, -1.0]), np.array([2.0, 0.0, 0.3])
    circuit = nonsymmetric({"lam_real": a, "lam_imag": b}, None)
    values = np.sort_complex(np.linalg.eigvals(circuit.weights[[0, 2]]))
    assert_allclose(values, [[0.5 - 2j, 0.5 + 2j], [-1 - 0.3j, -1 + 0.3j]], atol=1e-14)
    nilpotent = circuit.weights[1] - 0.5 * np.eye(2)
    assert np.any(nilpotent != 0)
    assert_array_equal(nilpotent @ nilpotent, np.zeros((2, 2)))
    assert_allclose(circuit.extras["design_eigenvalues"][1][0], [0.5 - 2j, 0.5 + 2j])
    assert not circuit.symmetric
