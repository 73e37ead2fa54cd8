"""Verdicts of the theory check: one int8 code per measured value.

Codes are stored with CF ``flag_values`` / ``flag_meanings`` attributes, so
``ds.gain_check.attrs["flag_meanings"]`` says what each number means and
:func:`verdict_names` turns them into words.  :func:`verdict_codes` and
:func:`reduce_codes` work on plain arrays; :func:`verdict`,
:func:`point_verdict` and :func:`combine` apply them to DataArrays, lazily
loaded ones included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

VERDICTS: dict[str, int] = {
    "not_computed": 0,
    "agrees": 1,
    "disagrees": 2,
    "no_steady_state": 3,
    "integrator": 4,
    "not_driven": 5,
    "not_resolved": 6,
    "diverged": 7,
    "not_applicable": 8,
    "degenerate": 9,
    "not_settled": 10,
    "out_of_range": 11,
}
"""Code of each verdict; 0 is the fill value of a chunk that was never written."""

INAPPLICABLE: tuple[str, ...] = ("not_applicable", "no_steady_state", "integrator")
"""Verdicts of a value whose theory has no finite value there: the quantity does not apply
(no steady state, so no gain; no time constant at ``lam = 1``; a ramp only at ``lam = 1``).
Such a value is neither evidence nor missing evidence; every other reason is a value that
applies but was not measured."""

REASONS: dict[str, str] = {
    "no_steady_state": "no steady state (eigenvalue >= 1)",
    "integrator": "no time constant at eigenvalue 1 (integrator)",
    "not_driven": "the input does not drive this mode",
    "not_resolved": "too fast for the recording step, or too few samples, "
    "or the solver's error estimate is above its tolerance (solver_error > 1)",
    "diverged": "the activity diverged before it could be measured",
    "not_applicable": "its theory has no finite value here",
    "degenerate": "equal eigenvalues, so any basis of their eigenspace is an eigenbasis",
    "not_settled": "too slow for the recording: still changing at its end (record longer)",
    "out_of_range": "a value beyond double precision (overflow)",
    "not_computed": "not computed yet",
}
"""Why a value is not measurable, in words for the run summary."""


def flag_attrs(long_name: str) -> dict[str, object]:
    """CF attributes of a verdict variable."""
    return {
        "long_name": long_name,
        "units": "1",
        "flag_values": list(VERDICTS.values()),
        "flag_meanings": " ".join(VERDICTS),
    }


def verdict_codes(
    measured: np.ndarray,
    theory: np.ndarray,
    rtol: float,
    reasons: Sequence[tuple[str, np.ndarray]],
    scale: np.ndarray | float | None = None,
) -> np.ndarray:
    """Agrees where ``|measured - theory| <= rtol scale``, else disagrees.

    ``scale`` is ``|theory|`` unless given (for quantities whose theory can
    be zero).  ``reasons`` are ``(verdict name, mask)`` pairs that override
    the comparison where their mask holds; the first that holds wins.
    Where no reason holds, a theory of NaN (no finite value: theory's
    functions return NaN where a quantity is undefined) is
    ``not_applicable``, and any other value that is not finite (measured,
    theory or scale: an overflow) is ``out_of_range``; neither is a
    disagreement.  Arrays broadcast against each other.
    """
    scale = abs(theory) if scale is None else scale
    with np.errstate(invalid="ignore", over="ignore"):
        close = abs(measured - theory) <= rtol * scale
        finite = np.isfinite(measured) & np.isfinite(theory) & np.isfinite(scale)
    # Finite first: an infinite scale would let anything agree.
    code = np.where(
        finite,
        np.where(close, VERDICTS["agrees"], VERDICTS["disagrees"]),
        np.where(np.isnan(theory), VERDICTS["not_applicable"], VERDICTS["out_of_range"]),
    )
    for name, mask in reversed(reasons):
        code = np.where(mask, VERDICTS[name], code)
    return code.astype(np.int8)


def verdict(
    measured: xr.DataArray,
    theory: xr.DataArray,
    rtol: float,
    reasons: Sequence[tuple[str, xr.DataArray]],
    scale: xr.DataArray | None = None,
) -> xr.DataArray:
    """:func:`verdict_codes` of DataArrays, broadcast by dimension name."""
    names = [name for name, _ in reasons]
    # Given here, not left to verdict_codes: Dask hands a None on as an object array.
    scale = abs(theory) if scale is None else scale

    def codes(measured, theory, scale, *masks):
        return verdict_codes(measured, theory, rtol, list(zip(names, masks, strict=True)), scale)

    return xr.apply_ufunc(
        codes,
        measured,
        theory,
        scale,
        *(mask for _, mask in reasons),
        dask="parallelized",
        output_dtypes=[np.int8],
    )


def reduce_codes(codes: np.ndarray, axis: int | Sequence[int]) -> np.ndarray:
    """Reduce verdicts over ``axis``: disagrees beats agrees beats the rest.

    Where nothing agrees or disagrees, the reason of the first element (in C
    order over the reduced axes) that applies stands, a reason it was not
    measured beating one it does not apply (:data:`INAPPLICABLE`): a point
    whose one mode integrates and whose other is not resolved is not
    resolved.  Where nothing applies, the first element's reason stands.
    """
    axes = tuple(np.atleast_1d(axis) % codes.ndim)
    flat = np.moveaxis(codes, axes, tuple(range(-len(axes), 0)))
    flat = flat.reshape(*flat.shape[: codes.ndim - len(axes)], -1)
    disagrees = (flat == VERDICTS["disagrees"]).any(axis=-1)
    agrees = (flat == VERDICTS["agrees"]).any(axis=-1)
    applies = ~np.isin(flat, [VERDICTS[name] for name in INAPPLICABLE])
    # argmax finds the first that applies; where none does, it points at the first element.
    first = np.take_along_axis(flat, np.argmax(applies, axis=-1)[..., None], axis=-1)[..., 0]
    reduced = np.where(
        disagrees, VERDICTS["disagrees"], np.where(agrees, VERDICTS["agrees"], first)
    )
    return reduced.astype(np.int8)


def point_verdict(code: xr.DataArray, dims: Sequence[str]) -> xr.DataArray:
    """:func:`reduce_codes` over the dimensions ``dims`` that ``code`` has."""
    present = [d for d in code.dims if d in dims]
    if not present:
        return code
    if code.chunks is not None:
        code = code.chunk(dict.fromkeys(present, -1))
    return xr.apply_ufunc(
        reduce_codes,
        code,
        input_core_dims=[present],
        kwargs={"axis": tuple(range(-len(present), 0))},
        dask="parallelized",
        output_dtypes=[np.int8],
    )


def combine(codes: Sequence[xr.DataArray], dims: Sequence[str]) -> xr.DataArray:
    """One verdict per point from the verdicts of several quantities (see :func:`reduce_codes`)."""
    per_point = [point_verdict(code, dims) for code in codes]
    return point_verdict(xr.concat(per_point, dim="_quantity"), ["_quantity"])


def verdict_names(codes: np.ndarray) -> np.ndarray:
    """Verdict names for an array of codes."""
    names = np.array(list(VERDICTS), dtype=object)
    return names[np.asarray(codes, dtype=int)]


def scaled_error(measured: np.ndarray, theory: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``|measured - theory| / scale``: 0 where they are equal, infinite where ``scale`` is 0.

    With ``scale = |theory|`` this is the relative error that :func:`verdict`
    compares with ``rtol``; quantities whose theory can be zero give another
    scale (their ``Q_scale`` variable).  Arrays broadcast against each other.
    """
    difference = np.abs(measured - theory)
    positive = scale > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = difference / np.where(positive, scale, 1.0)
    return np.where(positive, relative, np.where(difference > 0, np.inf, 0.0))
