"""Verdict codes: comparison with reasons, and their reduction to one per point."""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.checks.verdicts import VERDICTS, combine, point_verdict, reduce_codes, verdict

A, D = VERDICTS["agrees"], VERDICTS["disagrees"]
NOT_DRIVEN, INTEGRATOR = VERDICTS["not_driven"], VERDICTS["integrator"]
NOT_APPLICABLE = VERDICTS["not_applicable"]


def test_reasons_override_the_comparison_first_listed_first():
    """|m - t| <= rtol |t| agrees; the first reason whose mask holds replaces the comparison."""
    measured = xr.DataArray([1.0, 1.1, np.nan, 2.0], dims="point")
    theory = xr.DataArray([1.0005, 1.0, 1.0, 2.0], dims="point")
    first = xr.DataArray([False, False, True, True], dims="point")
    second = xr.DataArray([False, True, True, False], dims="point")
    codes = verdict(measured, theory, 1e-3, [("not_driven", first), ("integrator", second)])
    assert codes.values.tolist() == [A, INTEGRATOR, NOT_DRIVEN, NOT_DRIVEN]
    assert codes.dtype == np.int8


def test_disagrees_beats_agrees_beats_the_first_reason_that_applies():
    """A reason a value was not measured beats one that it does not apply (integrator)."""
    codes = np.array(
        [
            [A, D, A],
            [A, NOT_DRIVEN, A],
            [INTEGRATOR, NOT_DRIVEN, INTEGRATOR],
            [INTEGRATOR, NOT_APPLICABLE, INTEGRATOR],
        ]
    )
    assert reduce_codes(codes, -1).tolist() == [D, A, NOT_DRIVEN, INTEGRATOR]
    assert reduce_codes(codes[None], (1, 2)).tolist() == [D]


def test_a_theory_without_a_finite_value_does_not_apply_and_an_overflow_is_out_of_range():
    """Theory NaN: not_applicable; theory or measured inf: out_of_range; neither disagrees."""
    codes = verdict(
        xr.DataArray([1.0, 1.0, np.inf, np.nan]),
        xr.DataArray([np.nan, np.inf, 1.0, 1.0]),
        1e-3,
        [],
    )
    out = VERDICTS["out_of_range"]
    assert codes.values.tolist() == [NOT_APPLICABLE, out, out, out]


def test_point_verdicts_are_the_same_on_lazy_arrays():
    """Reductions over mode and phase, eagerly and on a Dask-backed array, agree exactly."""
    rng = np.random.default_rng(0)
    codes = xr.DataArray(
        rng.choice([A, D, NOT_DRIVEN, INTEGRATOR], size=(6, 5, 2, 2)).astype(np.int8),
        dims=("lam", "tau", "mode", "phase"),
    )
    other = codes.isel(phase=0, drop=True)
    eager = combine([codes, other], dims=("mode", "phase"))
    lazy = combine([codes.chunk({"lam": 2}), other.chunk({"lam": 3})], dims=("mode", "phase"))
    xr.testing.assert_identical(lazy.compute(), eager)
    assert np.array_equal(point_verdict(codes, ["mode", "phase"]).values[0, 0],
                          reduce_codes(codes.values[0, 0], (0, 1)))  # fmt: skip
