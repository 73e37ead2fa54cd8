"""Every mode of a linear network checked as an autapse: gain, time constant, persistence, ramp.

In mode coordinates ``c = Phi^-1 v`` each mode obeys ``tau dc/dt = -(1 - lam) c
+ h_a``, so its gain ``1/(1-lam)``, time constant ``tau/(1-lam)``, persistence
``exp(-(1-lam) D/tau)`` and (at ``lam = 1``) ramp ``h_a/tau`` are measured
mode by mode.  The scenario checks of networks whose modes are autapses
build on :func:`linear_modes`.

The arithmetic runs on plain arrays of a whole block at once
(:func:`linear_mode_arrays`) and is labelled once at the end: building an
xarray object per intermediate result would cost more than the arithmetic.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from analysis.checks.base import PRECISION, Check
from analysis.checks.verdicts import (
    VERDICTS,
    flag_attrs,
    reduce_codes,
    verdict_codes,
)
from analysis.measure import quantities as measures
from analysis.measure.fits import decay_log_ratio, fit_errors, geometric_fit
from analysis.measure.modes import eigenvector_inverse, mode_coordinates
from analysis.measure.steady import NOISE
from analysis.theory import linear as theory
from analysis.theory.linear import DRIVE_TOLERANCE

QUANTITIES = ("gain", "tau_eff", "persistence", "ramp_slope")
"""Quantities of the linear mode check, in the order the summary lists them."""

PHASES = ("rise", "decay")
"""The two parts of the response a time constant is fitted to."""

LINEAR_MODE_DIMS: dict[str, tuple[str, ...]] = {
    "mode_input": ("mode",),
    **{f"{q}{suffix}": ("mode",) for q in QUANTITIES for suffix in ("", "_theory", "_check")},
    "tau_eff": ("mode", "phase"),
    "tau_eff_check": ("mode", "phase"),
    "check": (),
}
"""Every variable of the linear mode check and its dimensions after the sweep dimensions."""

COMPLEX = ("mode_input", "gain")
"""Variables that are complex where the modes are (non-symmetric weights)."""


def linear_modes(ds: xr.Dataset, *, rtol: float, persistence_delay: float) -> xr.Dataset:
    """Measure every mode's gain, time constant, persistence and ramp; compare with theory.

    Parameters
    ----------
    ds : Dataset in the store's data contract
    rtol : float
        Relative tolerance ``|measured - theory| <= rtol |theory|``.
    persistence_delay : float
        Seconds after the input stops at which persistence is read.

    Returns
    -------
    Dataset with ``gain``, ``tau_eff`` (per ``phase``: rise, decay),
    ``persistence`` and ``ramp_slope``, each with ``_theory`` and ``_check``,
    the input of each mode ``mode_input``, and the overall verdict ``check``.
    """
    names = list(LINEAR_MODE_DIMS)
    settings = {
        "times": ds["time"].values,
        "onset": float(ds["onset"]),
        "offset": float(ds["offset"]),
        "rtol": rtol,
        "delay": persistence_delay,
    }

    def arrays(*inputs):
        values = linear_mode_arrays(*inputs, **settings)
        return tuple(values[name] for name in names)

    inverse = eigenvector_inverse(ds)
    # Complex for rotating modes: the input of each mode and the gain measured from it.
    mode_dtype = np.result_type(inverse.dtype, ds["h"].dtype)
    # Variables rather than DataArrays: nothing to align, which costs more than the arithmetic.
    outputs = xr.apply_ufunc(
        arrays,
        ds.variables["rate"],
        ds.variables["h"],
        ds.variables["eigenvalues"],
        inverse.variable,
        ds.variables["tau"],
        ds.variables["diverged_at"],
        input_core_dims=[["time", "neuron"], ["neuron"], ["mode"], ["mode", "neuron"], [], []],
        output_core_dims=[list(LINEAR_MODE_DIMS[name]) for name in names],
        dask="parallelized",
        output_dtypes=[
            np.int8 if name.endswith("check") else mode_dtype if name in COMPLEX else float
            for name in names
        ],
        dask_gufunc_kwargs={"output_sizes": {"phase": len(PHASES)}},
    )
    attrs = _linear_mode_attrs(rtol, persistence_delay)
    data_vars = {
        name: xr.Variable(output.dims, output.data, attrs[name])
        for name, output in zip(names, outputs, strict=True)
    }
    dims = {dim for output in outputs for dim in output.dims}
    coords = {name: var for name, var in ds.coords.variables.items() if set(var.dims) <= dims}
    coords["phase"] = xr.Variable(
        "phase", list(PHASES), {"long_name": "part of the response", "units": "1"}
    )
    return xr.Dataset(data_vars, coords)


def _linear_mode_attrs(rtol: float, delay: float) -> dict[str, dict]:
    """Attributes of every variable of the linear mode check."""
    attrs: dict[str, dict] = {
        "mode_input": {"long_name": "input to the mode, (Phi^-1 h)_a", "units": "Hz"},
        "check": {
            **flag_attrs("theory check of the point: disagrees if any quantity disagrees"),
            "quantities": list(QUANTITIES),
        },
    }
    for quantity in QUANTITIES:
        attrs[quantity] = dict(measures.ATTRS[quantity])
        attrs[f"{quantity}_theory"] = dict(theory.ATTRS[quantity])
        attrs[f"{quantity}_check"] = {**flag_attrs(f"theory check of {quantity}"), "rtol": rtol}
    attrs["persistence"]["delay"] = attrs["persistence_theory"]["delay"] = delay
    return attrs


def linear_mode_arrays(
    rate: np.ndarray,
    h: np.ndarray,
    eigenvalues: np.ndarray,
    inverse: np.ndarray,
    tau: np.ndarray,
    diverged_at: np.ndarray,
    *,
    times: np.ndarray,
    onset: float,
    offset: float,
    rtol: float,
    delay: float,
) -> dict[str, np.ndarray]:
    """The linear mode check of :func:`linear_modes` on plain arrays.

    Parameters
    ----------
    rate : (..., n_time, n_neuron) ndarray
    h : (..., n_neuron) ndarray
    eigenvalues : (..., n_mode) ndarray
    inverse : (..., n_mode, n_neuron) ndarray
        ``Phi^-1``, the inverse of the eigenvectors.
    tau, diverged_at : (...) ndarray
        Broadcast against the others.
    times : (n_time,) ndarray
    onset, offset, rtol, delay : float

    Returns
    -------
    dict of ndarray
        Every variable of :data:`LINEAR_MODE_DIMS`, with the leading dims of
        ``rate`` followed by the dimensions named there.
    """
    activity = mode_coordinates(inverse, np.swapaxes(rate, -1, -2))  # (..., mode, time)
    h_mode = mode_coordinates(inverse, h[..., None])[..., 0]
    tau = np.asarray(tau)[..., None]
    start, stop = measures.nearest_sample(times, onset), measures.nearest_sample(times, offset)
    later = measures.nearest_sample(times, offset + delay)

    driven = abs(h_mode) > DRIVE_TOLERANCE * abs(h_mode).max(axis=-1, keepdims=True)
    # (fmax/fmin skip NaN after a divergence and need no temporary |rate| array.)
    peak = np.fmax(np.fmax.reduce(rate, axis=(-2, -1)), -np.fmin.reduce(rate, axis=(-2, -1)))
    # Round-off of one sample of each mode: that of the rates, through Phi^-1.
    noise = NOISE * peak[..., None] * abs(inverse).sum(axis=-1)
    # A sample is read only where its own round-off is within the precision the
    # tolerance asks (base.PRECISION): below that it is noise.
    floor = noise / (PRECISION * rtol)
    diverged = ~np.isnan(diverged_at)
    integrator = theory.is_integrator(eigenvalues)
    unstable = np.real(eigenvalues) >= 1 - theory.UNIT_TOLERANCE

    def unmeasured(measured: np.ndarray) -> np.ndarray:
        per_point = diverged.reshape(diverged.shape + (1,) * (measured.ndim - diverged.ndim))
        return per_point & ~np.isfinite(measured)

    with np.errstate(divide="ignore", invalid="ignore"):
        rising = activity[..., start : stop + 1]
        rise = _fit(rising)
        # The rise's asymptote is extrapolated by d r / (1 - r): near r = 1 the
        # round-off of r is amplified by 1/(1 - r)^2, and the bound says when
        # that passes the tolerance.  A rise that has stopped changing is its
        # own asymptote (tau far below the recording step).
        log_error, asymptote_error, last_step = fit_errors(rising, rise["ratio"], noise)
        settled = last_step == 0
        asymptote = np.where(settled, rising[..., -1], rise["asymptote"])
        rise_measured = settled | (
            rise["resolved"] & (asymptote_error <= PRECISION * rtol * abs(asymptote))
        )
        gain = measures.gain({"asymptote": asymptote}, h_mode)
        # The decay's asymptote is 0 (no input), so its ratio comes from the
        # samples themselves, which keeps its precision near lam = 1.
        decay_log, decay_spread = decay_log_ratio(activity[..., stop:], floor, noise)
        rise_log = np.log(abs(rise["ratio"]))
        if not np.iscomplexobj(rise["ratio"]):
            rise_log = np.where(rise["ratio"] > 0, rise_log, np.nan)
        tau_eff = measures.log_time_constant(
            np.stack([rise_log, decay_log], axis=-1), times[1] - times[0]
        )
        relative_spread = np.stack(
            [np.where(np.isnan(rise_log), np.nan, log_error), decay_spread / abs(decay_log)],
            axis=-1,
        )
        per_phase = np.stack([rise["resolved"], np.isfinite(decay_log)], axis=-1) & (
            relative_spread <= PRECISION * rtol
        )
        # A mode that moves by less than a factor e over its window is too slow for
        # the recording (a longer one resolves it), not too fast for its step.
        slow = np.stack(
            [
                abs(rise_log) * (rising.shape[-1] - 1) < 1,
                abs(decay_log) * (activity.shape[-1] - 1 - stop) < 1,
            ],
            axis=-1,
        )
        persistence = measures.persistence_ratio(activity[..., stop], activity[..., later])
        # Its relative error: the round-off of both samples it is read from.
        persistence_error = noise / abs(activity[..., stop]) + noise / abs(activity[..., later])
        ramp_slope = measures.slope(activity[..., start], activity[..., stop], offset - onset)
    values = {
        "mode_input": h_mode,
        "gain": gain,
        "gain_theory": theory.gain_theory(eigenvalues),
        "tau_eff": tau_eff,
        "tau_eff_theory": theory.tau_eff_theory(eigenvalues, tau),
        "persistence": persistence,
        "persistence_theory": theory.persistence_theory(eigenvalues, tau, delay),
        "ramp_slope": np.where(integrator, ramp_slope, np.nan),
        "ramp_slope_theory": np.where(
            integrator,
            theory.ramp_slope_theory(np.real(h_mode), tau, eigenvalues, offset - onset),
            np.nan,
        ),
    }
    reasons = {
        "gain": [
            ("not_driven", ~driven),
            ("no_steady_state", unstable),
            ("diverged", unmeasured(gain)),
            ("not_settled", ~rise_measured & slow[..., 0]),
            ("not_resolved", ~rise_measured),
        ],
        "tau_eff": [
            ("not_driven", ~driven[..., None]),
            ("integrator", integrator[..., None]),
            ("diverged", unmeasured(tau_eff)),
            ("not_settled", ~per_phase & slow),
            ("not_resolved", ~per_phase),
        ],
        "persistence": [
            ("not_driven", ~driven),
            ("diverged", unmeasured(persistence)),
            ("not_resolved", ~(persistence_error <= PRECISION * rtol)),
        ],
        "ramp_slope": [
            ("not_applicable", ~integrator),
            ("not_driven", ~driven),
            ("diverged", unmeasured(values["ramp_slope"])),
        ],
    }
    per_point = []
    for quantity in QUANTITIES:
        measured, expected = values[quantity], values[f"{quantity}_theory"]
        if measured.ndim > expected.ndim:
            expected = expected[..., None]
        code = verdict_codes(measured, expected, rtol, reasons[quantity])
        # The value where it was measured; NaN where its verdict gives a reason it was not.
        compared = (code == VERDICTS["agrees"]) | (code == VERDICTS["disagrees"])
        values[quantity] = np.where(compared, measured, np.nan)
        values[f"{quantity}_check"] = code
        per_point.append(reduce_codes(code, tuple(range(rate.ndim - 2, code.ndim))))
    values["check"] = reduce_codes(np.stack(per_point, axis=-1), -1)
    return values


def _fit(signal: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`analysis.measure.fits.geometric_fit` along the last axis, by name."""
    return dict(zip(("ratio", "asymptote", "resolved"), geometric_fit(signal), strict=True))


CHECK = Check(linear_modes, quantities=QUANTITIES, reads=("rtol", "persistence_delay"))
