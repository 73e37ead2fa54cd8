"""Eigenmodes once per block: M = Phi Lambda Phi^-1, and what is not diagonalisable."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose

from pipeline.model.modes import eigenmodes
from pipeline.model.networks import nonsymmetric, pair


def test_modes_reconstruct_the_weights_and_the_inverse_inverts():
    """Phi diag(lam) Phi^-1 = M to 1e-12, and Phi^-1 Phi = I, for symmetric and rotating M."""
    symmetric = pair({"coupling": np.array([-0.9, 0.3, 0.8]), "input_angle": np.zeros(3)}, None)
    rotating = nonsymmetric(
        {"lam_real": np.array([0.2, -1.0]), "lam_imag": np.array([2.0, 0.5])}, None
    )
    for circuit in (symmetric, rotating):
        modes = eigenmodes(circuit.weights, circuit.symmetric)
        rebuilt = modes.vectors * modes.values[:, None, :] @ modes.inverse
        assert_allclose(rebuilt, circuit.weights, atol=1e-12)
        identity = np.broadcast_to(np.eye(2), modes.vectors.shape)
        assert_allclose(modes.inverse @ modes.vectors, identity, atol=1e-12)
        assert not modes.defective.any()


def test_symmetric_modes_are_orthonormal_so_the_inverse_is_the_transpose():
    circuit = pair({"coupling": np.array([0.5, -0.7]), "input_angle": np.zeros(2)}, None)
    modes = eigenmodes(circuit.weights, symmetric=True)
    assert_allclose(modes.inverse, np.swapaxes(modes.vectors, -1, -2), atol=1e-15)


def test_a_jordan_block_is_defective_and_gets_no_inverse():
    """M = [[a, 1], [0, a]] (b = 0) has one eigenvector: marked defective, identity as inverse."""
    circuit = nonsymmetric(
        {"lam_real": np.array([0.5, 0.5]), "lam_imag": np.array([0.0, 1.0])}, None
    )
    modes = eigenmodes(circuit.weights, symmetric=False)
    assert modes.defective.tolist() == [True, False]
    assert_allclose(modes.inverse[0], np.eye(2))
