"""Theory checks: measured values beside theory, with a verdict for each.

A check takes a Dataset in the store's data contract (``rate``, ``h``,
``eigenvalues``, ``eigenvectors``, ``onset``, ``offset``, ``diverged_at`` and
the ``tau`` coordinate) and returns a Dataset of measured quantities
``Q``, their theory ``Q_theory`` and verdicts ``Q_check``, plus one overall
verdict per point, ``check``.  Checks run on each block inside the pipeline
and equally on a lazily opened store in a notebook.

The arithmetic of a check runs on plain arrays of a whole block at once
(:func:`linear_mode_arrays`) and is labelled once at the end: building an
xarray object per intermediate result would cost more than the arithmetic.

:func:`linear_modes` checks every mode of a network as an autapse; each
scenario of the lecture has its own check (:data:`CHECKS`), which builds on
it where the modes are autapses and adds what the scenario shows.  Where a
theory value can be zero, the tolerance is relative to a stated scale,
stored as ``Q_scale``: ``|Q - Q_theory| <= rtol Q_scale``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from analysis.checks.verdicts import (
    VERDICTS,
    combine,
    flag_attrs,
    reduce_codes,
    verdict,
    verdict_codes,
)
from analysis.measure import quantities as measures
from analysis.measure.fits import geometric_fit
from analysis.measure.geometry import loop_area, misalignment
from analysis.measure.modes import mode_activity, mode_coordinates, mode_input
from analysis.measure.propagator import angular_frequency, decay_rate, propagator_eigenvalues
from analysis.measure.steady import (
    ROUND_OFF,
    epoch_fits,
    linear_map,
    neuron_space,
    round_off_floor,
)
from analysis.theory import linear as theory
from analysis.theory import scenarios as scenario_theory

DRIVE_TOLERANCE = 1e-9
"""A mode whose input is below this fraction of the largest mode input is not driven."""

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


def linear_modes(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """Measure every mode's gain, time constant, persistence and ramp; compare with theory.

    Parameters
    ----------
    ds : Dataset in the store's data contract
    rtol : float
        Relative tolerance ``|measured - theory| <= rtol |theory|``.
    delay : float
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
        "delay": delay,
    }

    def arrays(*inputs):
        values = linear_mode_arrays(*inputs, **settings)
        return tuple(values[name] for name in names)

    # Complex for rotating modes: the input of each mode and the gain measured from it.
    mode_dtype = np.result_type(ds["eigenvectors"].dtype, ds["h"].dtype)
    inputs = ("rate", "h", "eigenvalues", "eigenvectors", "tau", "diverged_at")
    # Variables rather than DataArrays: nothing to align, which costs more than the arithmetic.
    outputs = xr.apply_ufunc(
        arrays,
        *(ds.variables[name] for name in inputs),
        input_core_dims=[["time", "neuron"], ["neuron"], ["mode"], ["neuron", "mode"], [], []],
        output_core_dims=[list(LINEAR_MODE_DIMS[name]) for name in names],
        dask="parallelized",
        output_dtypes=[
            np.int8 if name.endswith("check") else mode_dtype if name in COMPLEX else float
            for name in names
        ],
        dask_gufunc_kwargs={"output_sizes": {"phase": len(PHASES)}},
    )
    attrs = _linear_mode_attrs(rtol, delay)
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
    eigenvectors: np.ndarray,
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
    eigenvectors : (..., n_neuron, n_mode) ndarray
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
    activity = mode_coordinates(eigenvectors, np.swapaxes(rate, -1, -2))  # (..., mode, time)
    h_mode = mode_coordinates(eigenvectors, h[..., None])[..., 0]
    tau = np.asarray(tau)[..., None]
    start, stop = measures.nearest_sample(times, onset), measures.nearest_sample(times, offset)
    later = measures.nearest_sample(times, offset + delay)

    driven = abs(h_mode) > DRIVE_TOLERANCE * abs(h_mode).max(axis=-1, keepdims=True)
    # A ratio of values within round-off of the point's largest rate is noise.
    # (fmax/fmin skip NaN after a divergence and need no temporary |rate| array.)
    peak = np.fmax(np.fmax.reduce(rate, axis=(-2, -1)), -np.fmin.reduce(rate, axis=(-2, -1)))
    floor = ROUND_OFF * peak[..., None]
    diverged = ~np.isnan(diverged_at)
    integrator = theory.is_integrator(eigenvalues)
    unstable = np.real(eigenvalues) >= 1 - theory.UNIT_TOLERANCE

    def unmeasured(measured: np.ndarray) -> np.ndarray:
        per_point = diverged.reshape(diverged.shape + (1,) * (measured.ndim - diverged.ndim))
        return per_point & ~np.isfinite(measured)

    with np.errstate(divide="ignore", invalid="ignore"):
        rise = _fit(activity[..., start : stop + 1])
        decay = _fit(activity[..., stop:])
        gain = measures.gain(rise, h_mode)
        tau_eff = measures.time_constant(
            np.stack([rise["ratio"], decay["ratio"]], axis=-1), times[1] - times[0]
        )
        persistence = measures.persistence_ratio(activity[..., stop], activity[..., later])
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
            integrator, theory.ramp_slope_theory(np.real(h_mode), tau), np.nan
        ),
    }
    per_phase = np.stack([rise["resolved"], decay["resolved"]], axis=-1)
    reasons = {
        "gain": [
            ("not_driven", ~driven),
            ("no_steady_state", unstable),
            ("diverged", unmeasured(gain)),
            ("not_resolved", ~rise["resolved"]),
        ],
        "tau_eff": [
            ("not_driven", ~driven[..., None]),
            ("integrator", integrator[..., None]),
            ("diverged", unmeasured(tau_eff)),
            ("not_resolved", ~per_phase),
        ],
        "persistence": [
            ("not_driven", ~driven),
            ("diverged", unmeasured(persistence)),
            (
                "not_resolved",
                (abs(activity[..., stop]) <= floor) | (abs(activity[..., later]) <= floor),
            ),
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


@dataclass(frozen=True)
class Checked:
    """One quantity of a scenario check: measured beside theory, with a verdict per value.

    ``measured`` is None when the measured values are already a variable of
    the dataset under the quantity's name (the eigenvalues, for instance).
    ``scale`` is what the tolerance is relative to, when not ``|theory|``.
    """

    measured: xr.DataArray | None
    theory: xr.DataArray
    code: xr.DataArray
    scale: xr.DataArray | None = None


def compare(
    measured: xr.DataArray,
    expected: xr.DataArray,
    rtol: float,
    reasons: list[tuple[str, xr.DataArray]],
    scale: xr.DataArray | None = None,
    *,
    stored: bool = False,
) -> Checked:
    """The verdict of ``measured`` against ``expected``: within ``rtol`` of ``|expected|``.

    With a ``scale``, within ``rtol scale`` instead.  ``stored``: the
    measured values are already in the dataset, under the quantity's name,
    and are not returned again.
    """
    code = verdict(measured, expected, rtol, reasons, scale)
    return Checked(None if stored else measured, expected, code, scale)


def absolute() -> xr.DataArray:
    """Scale 1: a tolerance of ``rtol`` in the quantity's own (dimensionless) units."""
    return xr.DataArray(1.0)


def checked_dataset(
    quantities: dict[str, Checked],
    rtol: float,
    ds: xr.Dataset,
    base: xr.Dataset | None = None,
    extras: dict[str, xr.DataArray] | None = None,
) -> xr.Dataset:
    """A check's result on ``ds``: ``base`` (another check's result) and more quantities.

    Every quantity adds ``Q`` (kept only where it was compared with theory;
    NaN where its verdict gives a reason it was not), ``Q_theory``,
    ``Q_check`` and, with a scale, ``Q_scale``.  ``check`` reduces the
    verdicts of ``base`` and of every quantity over the dimensions that are
    not swept.
    """
    data = {} if base is None else {k: v for k, v in base.data_vars.items() if k != "check"}
    data.update(extras or {})
    codes = [] if base is None else [base["check"]]
    names = [] if base is None else list(base["check"].attrs["quantities"])
    for quantity, item in quantities.items():
        compared = (item.code == VERDICTS["agrees"]) | (item.code == VERDICTS["disagrees"])
        if item.measured is not None:
            data[quantity] = item.measured.where(compared).assign_attrs(item.measured.attrs)
        data[f"{quantity}_theory"] = item.theory
        data[f"{quantity}_check"] = item.code.assign_attrs(
            flag_attrs(f"theory check of {quantity}"), rtol=rtol
        )
        if item.scale is not None:
            data[f"{quantity}_scale"] = item.scale.assign_attrs(
                long_name=f"size the tolerance of {quantity} is relative to",
                units=item.theory.attrs.get("units", "1"),
            )
        codes.append(item.code)
        names.append(quantity)
    sweep_dims = [d for d in ds["rate"].dims if d not in ("time", "neuron")]
    inner = sorted({d for code in codes for d in code.dims} - set(sweep_dims))
    data["check"] = combine(codes, dims=inner).assign_attrs(
        flag_attrs("theory check of the point: disagrees if any quantity disagrees"),
        quantities=names,
    )
    return xr.Dataset(data)


def _carried(code: xr.DataArray) -> list[tuple[str, xr.DataArray]]:
    """The reasons ``code`` gives for values it could not measure, to pass on to a derived value."""
    carried = ("not_driven", "no_steady_state", "integrator", "diverged", "not_resolved")
    return [(reason, code == VERDICTS[reason]) for reason in carried]


def pair(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """The two-neuron network ``[[0, w], [w, 0]]``: its modes and its steady state.

    Besides every mode's gain, time constant, persistence (and ramp) of
    :func:`linear_modes`:

    - ``eigenvalues``: of the stored weights, against ``-|w|, |w|``, within ``rtol``;
    - ``eigenvectors``: against (1, 1)/sqrt2 for ``+w`` and (1, -1)/sqrt2 for
      ``-w``, within ``rtol`` per component.  At ``w = 0`` both eigenvalues
      are 0 and any basis is an eigenbasis: the verdict is ``degenerate``;
    - ``misalignment``: sine of the angle between the measured steady state,
      ``Phi (gain_a h_a)``, and the input, against that of ``(I - M)^-1 h``,
      within ``rtol``.  It is 0 exactly when the input lies along an
      eigenvector (every input, at ``w = 0``).

    The mode activities ``c = Phi^T v`` are returned as ``mode_activity``.
    """
    modes = linear_modes(ds, rtol, delay)
    coupling = ds["weights"].isel(neuron=0, source=1, drop=True)
    quantities = {
        "eigenvalues": compare(
            ds["eigenvalues"],
            scenario_theory.pair_eigenvalues_theory(coupling),
            rtol,
            [],
            scale=absolute(),
            stored=True,
        ),
        "eigenvectors": compare(
            ds["eigenvectors"],
            scenario_theory.pair_eigenvectors_theory(coupling),
            rtol,
            [("degenerate", abs(coupling) <= theory.UNIT_TOLERANCE)],
            scale=absolute(),
            stored=True,
        ),
    }
    gain_check = modes["gain_check"]
    undriven = gain_check == VERDICTS["not_driven"]
    settled = xr.where(undriven, 0.0, modes["gain"] * modes["mode_input"])
    steady = neuron_space(settled, ds["eigenvectors"])
    measured = misalignment(steady, ds["h"]).assign_attrs(
        long_name="sine of the angle between steady state and input, measured", units="1"
    )
    expected = misalignment(scenario_theory.steady_state_theory(ds["weights"], ds["h"]), ds["h"])
    quantities["misalignment"] = compare(
        measured,
        expected.assign_attrs(
            long_name="sine of the angle between steady state and input, theory",
            units="1",
            formula="angle((I-M)^-1 h, h)",
        ),
        rtol,
        [
            (reason, mask.any("mode"))
            for reason, mask in _carried(gain_check)
            if reason != "not_driven"  # an undriven mode adds nothing to the steady state
        ],
        scale=absolute(),
    )
    activity = mode_activity(ds["rate"], ds["eigenvectors"]).assign_attrs(
        long_name="activity of the mode, c = Phi^T v", units="Hz"
    )
    return checked_dataset(quantities, rtol, ds, base=modes, extras={"mode_activity": activity})


def self_weights(weights: xr.DataArray) -> xr.DataArray:
    """The diagonal of the weights, ``M_ii``: each neuron's autapse (dims ..., neuron)."""
    return (weights * (weights["neuron"] == weights["source"])).sum("source")


def autapse_pair(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """Two autapses, ``M = diag(lam1, lam2)``: each neuron alone, and the loop of both.

    The modes are the neurons themselves (eigenvectors (1, 0) and (0, 1),
    by ascending feedback), so :func:`linear_modes` checks each neuron's
    gain ``1/(1-lam_i)`` and time constant ``tau/(1-lam_i)``: positive
    feedback amplifies and slows, negative feedback suppresses and speeds
    up.  With input on both, the fast neuron moves first on the way out and
    on the way back, so the trajectory traces a loop: ``loop_area`` (shoelace
    area of the recorded samples, :func:`analysis.measure.geometry.loop_area`)
    against its closed form (:func:`analysis.theory.scenarios.loop_area_theory`),
    within ``rtol`` of ``scale = max_i |h_i / (1 - lam_i)|^2``.

    The polygon through the samples misses the curve by ``(dt^2/12) |int
    (v1' v2'' - v1'' v2') dt|``; for neurons relaxing at rates ``k_i`` that
    is at most ``(dt^2/6) k_1 k_2 scale``.  Where that bound, with the rates
    measured from the rise, exceeds half the tolerance, the recording step
    does not resolve the loop and the verdict says so.
    """
    modes = linear_modes(ds, rtol, delay)
    lam = self_weights(ds["weights"])
    onset, offset, end = float(ds["onset"]), float(ds["offset"]), float(ds["time"][-1])
    rise = modes["tau_eff_check"].sel(phase="rise", drop=True)
    rates = 1 / modes["tau_eff"].sel(phase="rise", drop=True)
    dt = measures.sample_interval(ds["rate"])
    coarse = dt**2 / 6 * rates.prod("mode", skipna=False) > rtol / 2
    unresolved = coarse | (rise == VERDICTS["not_resolved"]).any("mode")
    quantities = {
        "loop_area": compare(
            loop_area(ds["rate"]).assign_attrs(
                long_name="signed area of the state-space loop, measured", units="Hz^2"
            ),
            scenario_theory.loop_area_theory(lam, ds["h"], ds["tau"], onset, offset, end),
            rtol,
            [
                ("no_steady_state", (lam >= 1 - theory.UNIT_TOLERANCE).any("neuron")),
                ("diverged", ds["diverged_at"].notnull()),
                ("not_resolved", unresolved),
            ],
            scale=abs(ds["h"] / (1 - lam)).max("neuron") ** 2,
        )
    }
    return checked_dataset(quantities, rtol, ds, base=modes)


def integrator(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """A mode at ``lam = 1`` ramps while the input is on and holds its value after.

    Besides :func:`linear_modes` (``ramp_slope`` against ``h_a/tau`` among
    its quantities), ``held_value``: the activity of each integrator mode
    ``delay`` after the input stops, against ``h_a T / tau`` for a step of
    duration ``T``.
    """
    modes = linear_modes(ds, rtol, delay)
    onset, offset = float(ds["onset"]), float(ds["offset"])
    integrating = theory.is_integrator(ds["eigenvalues"])
    # The activity at the one sample read, not the whole trajectory.
    later = ds["rate"].sel(time=[offset + delay], method="nearest")
    held = np.real(mode_activity(later, ds["eigenvectors"]).isel(time=0, drop=True))
    held = held.where(integrating).assign_attrs(
        long_name="value an integrator mode holds after the input stops, measured", units="Hz"
    )
    slope_check = modes["ramp_slope_check"]
    quantities = {
        "held_value": compare(
            held,
            scenario_theory.held_value_theory(modes["mode_input"], ds["tau"], onset, offset).where(
                integrating
            ),
            rtol,
            [
                ("not_applicable", ~integrating),
                ("not_driven", slope_check == VERDICTS["not_driven"]),
                ("diverged", ds["diverged_at"].notnull() & ~np.isfinite(held)),
            ],
        )
    }
    return checked_dataset(quantities, rtol, ds, base=modes)


def runaway(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """Modes with ``lam > 1`` grow as ``exp((lam - 1) t / tau)`` until they diverge.

    Besides :func:`linear_modes`, ``growth_rate``: ``-1/tau_eff`` of each
    unstable mode, from the exponential fit while the input is on and after
    it stops (per ``phase``), on the samples recorded before the point
    passed ``solver.divergence_bound``; against ``(lam - 1)/tau``.
    """
    modes = linear_modes(ds, rtol, delay)
    grows = np.real(ds["eigenvalues"]) > 1 + theory.UNIT_TOLERANCE
    growth = (-1 / modes["tau_eff"]).where(grows)
    quantities = {
        "growth_rate": compare(
            growth.assign_attrs(long_name="growth rate of the mode, measured", units="1/s"),
            scenario_theory.growth_rate_theory(ds["eigenvalues"], ds["tau"]).where(grows),
            rtol,
            [("not_applicable", ~grows), *_carried(modes["tau_eff_check"])],
        )
    }
    return checked_dataset(quantities, rtol, ds, base=modes)


def _epoch_responses(ds: xr.Dataset) -> tuple[xr.Dataset, xr.DataArray, xr.DataArray, float]:
    """Fits of every mode in every input epoch, their steady states in neuron space, and dt."""
    activity = mode_activity(ds["rate"], ds["eigenvectors"])
    fits = epoch_fits(
        activity, ds["epoch_start"].values, float(ds["offset"]), round_off_floor(ds["rate"])
    )
    steady = neuron_space(fits["settled"], ds["eigenvectors"]).transpose(..., "epoch", "neuron")
    return fits, mode_input(ds["h"], ds["eigenvectors"]), steady, measures.sample_interval(activity)


def _mode_input(h_mode: xr.DataArray) -> dict[str, xr.DataArray]:
    return {
        "mode_input": h_mode.assign_attrs(long_name="input to the mode, (Phi^-1 h)_a", units="Hz")
    }


def _design_eigenvalues(ds: xr.Dataset, rtol: float) -> Checked:
    """The stored weights' eigenvalues against those the network was built with."""
    return compare(
        ds["eigenvalues"],
        ds["design_eigenvalues"]
        .copy()
        .assign_attrs(
            long_name="eigenvalue the network was built with", units="1", formula="design lam"
        ),
        rtol,
        [],
        scale=absolute(),
        stored=True,
    )


def gain_matrix(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """An N-neuron network probed along each eigenvector and along random directions.

    The step holds one input direction per ``epoch``; each epoch is fitted on
    its own (:func:`analysis.measure.steady.epoch_fits`).

    - ``eigenvalues``: of the stored weights, against the design, within ``rtol``;
    - ``gain`` (per mode and epoch): fitted asymptote over the mode's input,
      against ``1/(1-lam)``; where the epoch drives the mode;
    - ``tau_eff`` (per mode and epoch): ``-dt/ln r``, against ``tau/(1-lam)``;
      wherever the mode's activity moves above round-off;
    - ``gain_matrix``: ``G`` with ``v_inf = G h`` for every epoch, by least
      squares over the epochs' steady states, against ``(I - M)^-1 =
      Q diag(1/(1-lam)) Q^T``, within ``rtol`` of its largest entry.
    """
    fits, h_mode, steady, dt = _epoch_responses(ds)
    design = ds["design_eigenvalues"]
    diverged = ds["diverged_at"].notnull()
    unstable = design >= 1 - theory.UNIT_TOLERANCE
    gain = measures.gain(fits, h_mode)
    tau_eff = measures.tau_eff(fits, dt)
    expected = scenario_theory.gain_matrix_theory(design, ds["design_eigenvectors"])
    quantities = {
        "eigenvalues": _design_eigenvalues(ds, rtol),
        "gain": compare(
            gain,
            theory.gain_theory(design),
            rtol,
            [
                ("not_driven", abs(h_mode) <= DRIVE_TOLERANCE * abs(h_mode).max("mode")),
                ("no_steady_state", unstable),
                ("diverged", diverged & ~np.isfinite(gain)),
                ("not_resolved", ~fits["resolved"]),
            ],
        ),
        "tau_eff": compare(
            tau_eff,
            theory.tau_eff_theory(design, ds["tau"]),
            rtol,
            [
                ("integrator", theory.is_integrator(design)),
                ("diverged", diverged & ~np.isfinite(tau_eff)),
                ("not_resolved", ~fits["resolved"]),
            ],
        ),
        "gain_matrix": compare(
            linear_map(steady, ds["h"].rename(neuron="source"), "source").assign_attrs(
                long_name="steady-state gain matrix, measured", units="1"
            ),
            expected,
            rtol,
            [("no_steady_state", unstable.any("mode")), ("diverged", diverged)],
            scale=abs(expected).max(["neuron", "source"]),
        ),
    }
    return checked_dataset(quantities, rtol, ds, extras=_mode_input(h_mode))


def feedforward(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """Input neurons ``u`` reach the network through ``W``: the matrix ``(I - M)^-1 W``.

    The first half of the epochs stimulates each input neuron alone, the
    second half as many random independent input patterns.  The steady state
    of each epoch is read off the fits of its modes.

    - ``transfer``: from the single-neuron epochs; the steady state of
      input neuron ``j`` at rate ``u_j``, over ``u_j``, is column ``j``;
    - ``transfer_recovered``: from the random epochs alone, by solving the
      linear system ``V = T U`` of their steady states ``V`` and input rates ``U``.

    Both against ``(I - M)^-1 W`` from the stored weights, within ``rtol`` of
    its largest entry.
    """
    _, h_mode, steady, _ = _epoch_responses(ds)
    rates = ds["input_rate"]
    half = rates.sizes["epoch"] // 2
    expected = scenario_theory.transfer_theory(ds["weights"], ds["feedforward_weights"])
    reasons = [
        ("no_steady_state", (ds["design_eigenvalues"] >= 1 - theory.UNIT_TOLERANCE).any("mode")),
        ("diverged", ds["diverged_at"].notnull()),
    ]
    quantities = {"eigenvalues": _design_eigenvalues(ds, rtol)}
    for name, part, how in (
        ("transfer", slice(None, half), "one input neuron at a time"),
        ("transfer_recovered", slice(half, None), "solved from random input patterns"),
    ):
        measured = linear_map(steady.isel(epoch=part), rates.isel(epoch=part), "input")
        quantities[name] = compare(
            measured.assign_attrs(
                long_name=f"steady-state response per unit input rate, measured ({how})",
                units="1",
            ),
            expected.copy(),
            rtol,
            reasons,
            scale=abs(expected).max(["neuron", "input"]),
        )
    return checked_dataset(quantities, rtol, ds, extras=_mode_input(h_mode))


def nonsymmetric(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """Modes with complex eigenvalues decay at ``(1 - Re lam)/tau`` and turn at ``Im lam/tau``.

    Both are measured from the activity after the input stops, through the
    propagator fitted to it (:mod:`analysis.measure.propagator`), so no eigenvector
    enters and a matrix that is not diagonalisable is measured like any
    other.  ``decay_rate`` is checked within ``rtol``; ``angular_frequency``
    within ``rtol`` of the mode's whole rate ``|1 - lam|/tau`` (its theory is
    0 for a real eigenvalue).  A frequency at or above the recording's
    Nyquist limit (``|Im lam| dt/tau >= pi``) is not resolved.
    """
    dt = measures.sample_interval(ds["rate"])
    fitted = propagator_eigenvalues(ds["rate"], float(ds["offset"]))
    lam, tau = ds["design_eigenvalues"], ds["tau"]
    aliased = abs(np.imag(lam)) * dt / tau >= np.pi
    rate = decay_rate(fitted["z"], dt)
    frequency = angular_frequency(fitted["z"], dt)

    def reasons(measured: xr.DataArray) -> list[tuple[str, xr.DataArray]]:
        diverged = ds["diverged_at"].notnull() & ~np.isfinite(measured)
        return [("diverged", diverged), ("not_resolved", ~fitted["resolved"] | aliased)]

    quantities = {
        "decay_rate": compare(
            rate, scenario_theory.decay_rate_theory(lam, tau), rtol, reasons(rate)
        ),
        "angular_frequency": compare(
            frequency,
            scenario_theory.angular_frequency_theory(lam, tau),
            rtol,
            reasons(frequency),
            scale=abs(1 - lam) / tau,
        ),
    }
    return checked_dataset(quantities, rtol, ds)


def saturating(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """A saturating autapse after a brief input: memory where ``lam > 1``, none where ``lam < 1``.

    - ``fixed_point``: the rate at the end of the recording, against the
      stable solution of ``v* = f(lam v*)`` on the side of the input
      (:func:`analysis.theory.scenarios.fixed_point_theory`), within ``rtol``
      of the ceiling;
    - ``memory``: the sign of that rate (0 within ``rtol`` of the ceiling
      from 0), against the sign of the past input where ``lam > 1`` and 0
      where ``lam < 1``.
    """
    ceiling = ds["ceiling"] if "ceiling" in ds else None
    transfer = ceiling.attrs["transfer"] if ceiling is not None else "linear"
    size = float(ceiling) if ceiling is not None else float(abs(ds["h"]).max())
    lam = self_weights(ds["weights"])
    final = (
        ds["rate"]
        .isel(time=-1, drop=True)
        .assign_attrs(long_name="rate at the end of the recording, measured", units="Hz")
    )
    expected = scenario_theory.fixed_point_theory(lam, np.sign(ds["h"]), transfer, size)
    reasons = [
        ("integrator", theory.is_integrator(lam)),
        ("diverged", ds["diverged_at"].notnull() & ~np.isfinite(final)),
        ("not_applicable", ~np.isfinite(expected)),
    ]
    remembered = (
        xr.where(abs(final) > rtol * size, np.sign(final), 0.0)
        .where(np.isfinite(final))
        .assign_attrs(long_name="sign of the rate at the end of the recording, measured", units="1")
    )
    memory_theory = np.sign(expected).assign_attrs(
        long_name="sign of the input if lam > 1, else 0, theory",
        units="1",
        formula="sign(h) if lam>1 else 0",
    )
    quantities = {
        "fixed_point": compare(final, expected, rtol, reasons, scale=xr.DataArray(size)),
        "memory": compare(remembered, memory_theory, rtol, reasons, scale=absolute()),
    }
    return checked_dataset(quantities, rtol, ds)


CHECKS: dict[str, Callable[[xr.Dataset, float, float], xr.Dataset]] = {
    "linear_modes": linear_modes,
    "pair": pair,
    "autapse_pair": autapse_pair,
    "integrator": integrator,
    "runaway": runaway,
    "gain_matrix": gain_matrix,
    "feedforward": feedforward,
    "nonsymmetric": nonsymmetric,
    "saturating": saturating,
}
"""Every check by name; each takes (ds, rtol, delay) and returns measured, theory and verdicts.

The scenario checks build on :func:`linear_modes` where their network's
modes are autapses, and add what their scenario shows."""


def run_check(name: str, ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """The check ``name`` of :data:`CHECKS` on ``ds``; its overall verdict records the name."""
    result = CHECKS[name](ds, rtol, delay)
    result["check"].attrs["check"] = name
    return result
