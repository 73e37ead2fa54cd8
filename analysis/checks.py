"""Theory checks: measured values beside theory, with a verdict for each.

A check takes a Dataset in the store's data contract (``rate``, ``h``,
``weights``, ``eigenvalues``, ``eigenvectors``, ``onset``, ``offset``,
``diverged_at``, the ``tau`` coordinate, and what its network adds) and
returns a Dataset of measured quantities ``Q``, their theory ``Q_theory``
and verdicts ``Q_check``, plus one overall verdict per point, ``check``.
Where the tolerance is not relative to the theory (a theory that can be
zero), ``Q_scale`` holds the size it is relative to:
``|Q - Q_theory| <= rtol Q_scale``.  Checks run on each block inside the
pipeline and equally on a lazily opened store in a notebook.

Every scenario has its check (:data:`CHECKS`); they share the measurement
of linear responses (:func:`linear_response`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from analysis import measures, theory
from analysis.geometry import loop_area, misalignment
from analysis.modes import mode_activity, mode_input
from analysis.propagator import angular_frequency, decay_rate, propagator_eigenvalues
from analysis.steady import epoch_fits, linear_map, neuron_space, resolved_fit, round_off_floor
from analysis.verdicts import VERDICTS, combine, flag_attrs, verdict

DRIVE_TOLERANCE = 1e-9
"""A mode whose input is below this fraction of the largest mode input is not driven."""

NON_SWEEP_DIMS = ("time", "neuron")
"""Dimensions of ``rate`` that are not swept."""


def absolute() -> xr.DataArray:
    """Scale 1: a tolerance of ``rtol`` in the quantity's own (dimensionless) units."""
    return xr.DataArray(1.0)


@dataclass(frozen=True)
class Checked:
    """One quantity: measured beside theory, with a verdict code per value.

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
    theory_value: xr.DataArray,
    rtol: float,
    reasons: list[tuple[str, xr.DataArray]],
    scale: xr.DataArray | None = None,
    *,
    stored: bool = False,
) -> Checked:
    """A :class:`Checked` quantity: the verdict of ``measured`` against ``theory_value``.

    ``stored``: the measured values are already in the dataset, under the
    quantity's name, and are not returned again.
    """
    code = verdict(measured, theory_value, rtol, reasons, scale)
    return Checked(None if stored else measured, theory_value, code, scale)


def checked_dataset(
    name: str,
    quantities: dict[str, Checked],
    rtol: float,
    ds: xr.Dataset,
    extras: dict[str, xr.DataArray] | None = None,
) -> xr.Dataset:
    """The result of check ``name`` on ``ds``: every quantity, its theory and verdict, ``check``.

    A measured value is kept only where it was compared with theory; where
    its verdict gives a reason it was not, it is NaN.  ``check`` reduces the
    verdicts over every dimension that is not swept.
    """
    sweep_dims = [d for d in ds["rate"].dims if d not in NON_SWEEP_DIMS]
    data = dict(extras or {})
    codes = []
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
    inner = sorted({d for code in codes for d in code.dims} - set(sweep_dims))
    data["check"] = combine(codes, dims=inner).assign_attrs(
        flag_attrs("theory check of the point: disagrees if any quantity disagrees"),
        quantities=list(quantities),
        check=name,
    )
    return xr.Dataset(data)


@dataclass(frozen=True)
class Response:
    """A linear network's response to a step, in coordinates where each unit is an autapse.

    The units are the modes (``c = Phi^-1 v``) or, for a diagonal network,
    the neurons themselves.
    """

    activity: xr.DataArray
    drive: xr.DataArray
    eigenvalues: xr.DataArray
    tau: xr.DataArray
    onset: float
    offset: float
    dt: float
    floor: xr.DataArray
    driven: xr.DataArray
    diverged: xr.DataArray
    rise: xr.Dataset
    fits: xr.Dataset

    def unmeasured(self, measured: xr.DataArray) -> xr.DataArray:
        """Where a value could not be measured because its point diverged first."""
        return self.diverged & ~np.isfinite(measured)


def linear_response(
    ds: xr.Dataset, activity: xr.DataArray, drive: xr.DataArray, eigenvalues: xr.DataArray
) -> Response:
    """Fit the rise (input on) and decay (input off) of every unit of ``activity``.

    Parameters
    ----------
    ds : Dataset in the store's data contract
    activity : DataArray with dims (..., time, unit)
    drive : DataArray with dims (..., unit): each unit's input while the step is on
    eigenvalues : DataArray with dims (..., unit): each unit's feedback ``lam``
    """
    unit = drive.dims[-1]
    onset, offset = float(ds["onset"]), float(ds["offset"])
    floor = round_off_floor(ds["rate"])
    rise = resolved_fit(measures.window(activity, onset, offset), floor)
    decay = resolved_fit(measures.window(activity, offset), floor)
    fits = xr.concat(
        [rise, decay],
        dim=xr.Variable(
            "phase", ["rise", "decay"], {"long_name": "part of the response", "units": "1"}
        ),
    ).transpose(..., unit, "phase")
    return Response(
        activity=activity,
        drive=drive,
        eigenvalues=eigenvalues,
        tau=ds["tau"],
        onset=onset,
        offset=offset,
        dt=measures.sample_interval(activity),
        floor=floor,
        driven=abs(drive) > DRIVE_TOLERANCE * abs(drive).max(unit),
        diverged=ds["diverged_at"].notnull(),
        rise=rise,
        fits=fits,
    )


def self_weights(ds: xr.Dataset) -> xr.DataArray:
    """Each neuron's weight onto itself, ``M[i, i]``: the feedback of a diagonal network."""
    return (ds["weights"] * (ds["neuron"] == ds["source"])).sum("source")


def modal_response(ds: xr.Dataset) -> Response:
    """:func:`linear_response` of the modes, ``c = Phi^-1 v``."""
    return linear_response(
        ds,
        mode_activity(ds["rate"], ds["eigenvectors"]),
        mode_input(ds["h"], ds["eigenvectors"]),
        ds["eigenvalues"],
    )


def linear_quantities(r: Response, rtol: float, delay: float) -> dict[str, Checked]:
    """Gain, time constant and persistence of every unit against autapse theory.

    - ``gain``: fitted asymptote of the rise over the unit's input; ``1/(1-lam)``.
    - ``tau_eff`` (per ``phase``: rise, decay): ``-dt / ln r``; ``tau/(1-lam)``.
    - ``persistence``: activity ``delay`` after the input stops over the
      activity when it stops; ``exp(-(1-lam) delay/tau)``.
    """
    integrator = theory.is_integrator(r.eigenvalues)
    unstable = np.real(r.eigenvalues) >= 1 - theory.UNIT_TOLERANCE

    gain = measures.gain(r.rise, r.drive)
    quantities = {
        "gain": compare(
            gain,
            theory.gain_theory(r.eigenvalues),
            rtol,
            [
                ("not_driven", ~r.driven),
                ("no_steady_state", unstable),
                ("diverged", r.unmeasured(gain)),
                ("not_resolved", ~r.rise["resolved"]),
            ],
        )
    }
    tau_eff = measures.tau_eff(r.fits, r.dt)
    quantities["tau_eff"] = compare(
        tau_eff,
        theory.tau_eff_theory(r.eigenvalues, r.tau),
        rtol,
        [
            ("not_driven", ~r.driven),
            ("integrator", integrator),
            ("diverged", r.unmeasured(tau_eff)),
            ("not_resolved", ~r.fits["resolved"]),
        ],
    )
    persistence = measures.persistence(r.activity, r.offset, delay)
    later = r.activity.sel(time=r.offset + delay, method="nearest", drop=True)
    stop = r.activity.sel(time=r.offset, method="nearest", drop=True)
    quantities["persistence"] = compare(
        persistence,
        theory.persistence_theory(r.eigenvalues, r.tau, delay),
        rtol,
        [
            ("not_driven", ~r.driven),
            ("diverged", r.unmeasured(persistence)),
            ("not_resolved", (abs(later) <= r.floor) | (abs(stop) <= r.floor)),
        ],
    )
    quantities["persistence"].measured.attrs["delay"] = delay
    quantities["persistence"].theory.attrs["delay"] = delay
    return quantities


def ramp_slope(r: Response, rtol: float) -> Checked:
    """Mean slope of an integrator unit (``lam = 1``) while the input is on; ``h_a/tau``."""
    integrator = theory.is_integrator(r.eigenvalues)
    slope = measures.ramp_slope(r.activity, r.onset, r.offset).where(integrator)
    return compare(
        slope,
        theory.ramp_slope_theory(np.real(r.drive), r.tau).where(integrator),
        rtol,
        [
            ("not_applicable", ~integrator),
            ("not_driven", ~r.driven),
            ("diverged", r.unmeasured(slope)),
        ],
    )


def with_mode_input(h_mode: xr.DataArray) -> dict[str, xr.DataArray]:
    """The input of each mode, ``(Phi^-1 h)_a``, as a variable to return beside the check."""
    return {
        "mode_input": h_mode.assign_attrs(long_name="input to the mode, (Phi^-1 h)_a", units="Hz")
    }


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
    r = modal_response(ds)
    quantities = linear_quantities(r, rtol, delay)
    quantities["ramp_slope"] = ramp_slope(r, rtol)
    return checked_dataset("linear_modes", quantities, rtol, ds, with_mode_input(r.drive))


def pair(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """The two-neuron network ``[[0, w], [w, 0]]``: its modes and its steady state.

    Besides every mode's linear quantities (:func:`linear_quantities`):

    - ``eigenvalues``: of the stored weights, against ``-|w|, |w|``;
    - ``eigenvectors``: against (1, 1)/sqrt2 for ``+w`` and (1, -1)/sqrt2 for
      ``-w``, within ``rtol`` per component.  At ``w = 0`` both eigenvalues
      are 0 and any basis is an eigenbasis: the verdict is ``degenerate``;
    - ``misalignment``: sine of the angle between the steady state (from the
      fitted asymptotes of the modes) and the input, against that of
      ``(I - M)^-1 h``, within ``rtol``.  It is 0 exactly when the input
      lies along an eigenvector (every input, at ``w = 0``).

    The mode activities ``c = Phi^T v`` are returned as ``mode_activity``.
    """
    r = modal_response(ds)
    quantities = linear_quantities(r, rtol, delay)
    coupling = ds["weights"].isel(neuron=0, source=1, drop=True)
    degenerate = abs(coupling) <= theory.UNIT_TOLERANCE
    diverged = ds["diverged_at"].notnull()
    quantities["eigenvalues"] = compare(
        ds["eigenvalues"],
        theory.pair_eigenvalues_theory(coupling),
        rtol,
        [],
        scale=absolute(),
        stored=True,
    )
    quantities["eigenvectors"] = compare(
        ds["eigenvectors"],
        theory.pair_eigenvectors_theory(coupling),
        rtol,
        [("degenerate", degenerate)],
        scale=absolute(),
        stored=True,
    )
    stable = (np.real(ds["eigenvalues"]) < 1 - theory.UNIT_TOLERANCE).all("mode")
    steady = neuron_space(r.rise["settled"], ds["eigenvectors"])
    measured = misalignment(steady, ds["h"]).assign_attrs(
        long_name="sine of the angle between steady state and input, measured", units="1"
    )
    expected = misalignment(theory.steady_state_theory(ds["weights"], ds["h"]), ds["h"])
    quantities["misalignment"] = compare(
        measured,
        expected.assign_attrs(
            long_name="sine of the angle between steady state and input, theory",
            units="1",
            formula="angle((I-M)^-1 h, h)",
        ),
        rtol,
        [
            ("no_steady_state", ~stable),
            ("diverged", diverged & ~np.isfinite(measured)),
            ("not_resolved", ~(r.rise["resolved"] | ~r.driven).all("mode")),
        ],
        scale=absolute(),
    )
    activity = r.activity.assign_attrs(long_name="activity of the mode, c = Phi^T v", units="Hz")
    return checked_dataset(
        "pair", quantities, rtol, ds, {**with_mode_input(r.drive), "mode_activity": activity}
    )


def autapse_pair(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """Two autapses, ``M = diag(lam1, lam2)``: each neuron on its own, and the loop of both.

    Each neuron is an autapse with its own feedback, so the linear quantities
    (:func:`linear_quantities`) are measured per ``neuron``: positive feedback
    amplifies and slows, negative feedback suppresses and speeds up.  With
    input on both, the fast neuron moves first on the way out and on the way
    back, so the state-space trajectory traces a loop: ``loop_area`` (shoelace
    area of the recorded samples) against its closed form
    (:func:`analysis.theory.loop_area_theory`), within ``rtol`` of
    ``scale = max_i |h_i / (1 - lam_i)|^2``.

    The polygon through the samples misses the curve by ``(dt^2/12) |int
    (v1' v2'' - v1'' v2') dt|`` (:func:`analysis.geometry.loop_area`); for
    neurons relaxing at rates ``k_i`` that is at most ``(dt^2/6) k_1 k_2
    scale``.  Where that bound, with the rates measured from the rise,
    exceeds half the tolerance the recording step does not resolve the loop
    and the verdict says so.
    """
    lam = self_weights(ds)
    r = linear_response(ds, ds["rate"], ds["h"], lam)
    quantities = linear_quantities(r, rtol, delay)
    end = float(ds["time"][-1])
    expected = theory.loop_area_theory(lam, ds["h"], ds["tau"], r.onset, r.offset, end)
    measured = loop_area(ds["rate"]).assign_attrs(
        long_name="signed area of the state-space loop, measured", units="Hz^2"
    )
    reach = (abs(ds["h"] / (1 - lam)).max("neuron")) ** 2
    ratio = r.rise["ratio"].where(r.driven & (r.rise["ratio"] > 0))
    rates = -np.log(ratio) / r.dt
    polygon_error = r.dt**2 / 6 * rates.prod("neuron", skipna=False)
    unresolved = (polygon_error > rtol / 2) | (r.driven & ~r.rise["resolved"]).any("neuron")
    quantities["loop_area"] = compare(
        measured,
        expected,
        rtol,
        [
            ("no_steady_state", (lam >= 1 - theory.UNIT_TOLERANCE).any("neuron")),
            ("diverged", ds["diverged_at"].notnull()),
            ("not_resolved", unresolved),
        ],
        scale=reach,
    )
    return checked_dataset("autapse_pair", quantities, rtol, ds)


def integrator(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """A mode at ``lam = 1``: it ramps while the input is on and holds its value after.

    Besides the linear quantities of the other modes, ``ramp_slope``
    (:func:`ramp_slope`, against ``h_a/tau``) and ``held_value``: the
    activity of each integrator mode ``delay`` after the input stops, against
    ``h_a T / tau`` for a step of duration ``T``.
    """
    r = modal_response(ds)
    quantities = linear_quantities(r, rtol, delay)
    quantities["ramp_slope"] = ramp_slope(r, rtol)
    is_integrator = theory.is_integrator(r.eigenvalues)
    held = np.real(r.activity.sel(time=r.offset + delay, method="nearest", drop=True))
    held = held.where(is_integrator).assign_attrs(
        long_name="value an integrator mode holds after the input stops, measured", units="Hz"
    )
    quantities["held_value"] = compare(
        held,
        theory.held_value_theory(r.drive, r.tau, r.onset, r.offset).where(is_integrator),
        rtol,
        [
            ("not_applicable", ~is_integrator),
            ("not_driven", ~r.driven),
            ("diverged", r.unmeasured(held)),
        ],
    )
    return checked_dataset("integrator", quantities, rtol, ds, with_mode_input(r.drive))


def runaway(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """Modes with ``lam > 1`` grow as ``exp((lam - 1) t / tau)`` until they diverge.

    Besides the linear quantities, ``growth_rate``: ``ln r / dt`` of the
    exponential fit of each unstable mode, while the input is on and after
    it stops (per ``phase``), from the samples recorded before the point
    passed ``solver.divergence_bound``; against ``(lam - 1)/tau``.
    """
    r = modal_response(ds)
    quantities = linear_quantities(r, rtol, delay)
    grows = np.real(r.eigenvalues) > 1 + theory.UNIT_TOLERANCE
    ratio = r.fits["ratio"]
    magnitude = abs(ratio).where(abs(ratio) > 0)
    growth = (
        (np.log(magnitude) / r.dt)
        .where(grows)
        .assign_attrs(long_name="growth rate of the mode, measured", units="1/s")
    )
    quantities["growth_rate"] = compare(
        growth,
        theory.growth_rate_theory(r.eigenvalues, r.tau).where(grows),
        rtol,
        [
            ("not_applicable", ~grows),
            ("not_driven", ~r.driven),
            ("diverged", r.unmeasured(growth)),
            ("not_resolved", ~r.fits["resolved"]),
        ],
    )
    return checked_dataset("runaway", quantities, rtol, ds, with_mode_input(r.drive))


def _epoch_responses(ds: xr.Dataset) -> tuple[xr.Dataset, xr.DataArray, xr.DataArray, float]:
    """Fits of every mode in every input epoch, their steady states in neuron space, and dt."""
    activity = mode_activity(ds["rate"], ds["eigenvectors"])
    fits = epoch_fits(
        activity,
        ds["epoch_start"].values,
        float(ds["offset"]),
        round_off_floor(ds["rate"]),
    )
    steady = neuron_space(fits["settled"], ds["eigenvectors"]).transpose(..., "epoch", "neuron")
    return fits, mode_input(ds["h"], ds["eigenvectors"]), steady, measures.sample_interval(activity)


def _design_eigenvalues(ds: xr.Dataset, rtol: float) -> Checked:
    """The stored weights' eigenvalues against those the network was built with."""
    design = ds["design_eigenvalues"]
    return compare(
        ds["eigenvalues"],
        design.copy().assign_attrs(
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
    its own (:func:`analysis.steady.epoch_fits`).

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
    tau = ds["tau"]
    diverged = ds["diverged_at"].notnull()
    driven = abs(h_mode) > DRIVE_TOLERANCE * abs(h_mode).max("mode")
    unstable = design >= 1 - theory.UNIT_TOLERANCE
    quantities = {"eigenvalues": _design_eigenvalues(ds, rtol)}

    gain = measures.gain(fits, h_mode)
    quantities["gain"] = compare(
        gain,
        theory.gain_theory(design),
        rtol,
        [
            ("not_driven", ~driven),
            ("no_steady_state", unstable),
            ("diverged", diverged & ~np.isfinite(gain)),
            ("not_resolved", ~fits["resolved"]),
        ],
    )
    tau_eff = measures.tau_eff(fits, dt)
    quantities["tau_eff"] = compare(
        tau_eff,
        theory.tau_eff_theory(design, tau),
        rtol,
        [
            ("integrator", theory.is_integrator(design)),
            ("diverged", diverged & ~np.isfinite(tau_eff)),
            ("not_resolved", ~fits["resolved"]),
        ],
    )
    measured = linear_map(steady, ds["h"].rename(neuron="source"), "source").assign_attrs(
        long_name="steady-state gain matrix, measured", units="1"
    )
    expected = theory.gain_matrix_theory(design, ds["design_eigenvectors"])
    quantities["gain_matrix"] = compare(
        measured,
        expected,
        rtol,
        [
            ("no_steady_state", unstable.any("mode")),
            ("diverged", diverged),
        ],
        scale=abs(expected).max(["neuron", "source"]),
    )
    return checked_dataset("gain_matrix", quantities, rtol, ds, with_mode_input(h_mode))


def feedforward(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """Input neurons ``u`` reach the network through ``W``: the matrix ``(I - M)^-1 W``.

    The first half of the epochs stimulates each input neuron alone, the
    second half as many random independent input patterns.  The steady state
    of each epoch is read off the fits of its modes.

    - ``transfer``: from the single-neuron epochs; the steady state of
      input neuron ``j`` at rate ``u_j`` over ``u_j`` is column ``j``;
    - ``transfer_recovered``: from the random epochs alone, by solving the
      linear system ``V = T U`` of their steady states ``V`` and input rates ``U``.

    Both against ``(I - M)^-1 W`` from the stored weights, within ``rtol`` of
    its largest entry.
    """
    _, h_mode, steady, _ = _epoch_responses(ds)
    rates = ds["input_rate"]
    half = rates.sizes["epoch"] // 2
    expected = theory.transfer_theory(ds["weights"], ds["feedforward_weights"])
    scale = abs(expected).max(["neuron", "input"])
    design = ds["design_eigenvalues"]
    reasons = [
        ("no_steady_state", (design >= 1 - theory.UNIT_TOLERANCE).any("mode")),
        ("diverged", ds["diverged_at"].notnull()),
    ]
    quantities = {"eigenvalues": _design_eigenvalues(ds, rtol)}
    for name, part, how in (
        ("transfer", slice(None, half), "one input neuron at a time"),
        ("transfer_recovered", slice(half, None), "solved from random input patterns"),
    ):
        measured = linear_map(
            steady.isel(epoch=part), rates.isel(epoch=part), "input"
        ).assign_attrs(
            long_name=f"steady-state response per unit input rate, measured ({how})", units="1"
        )
        quantities[name] = compare(measured, expected.copy(), rtol, reasons, scale=scale)
    return checked_dataset("feedforward", quantities, rtol, ds, with_mode_input(h_mode))


def nonsymmetric(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """Modes with complex eigenvalues decay at ``(1 - Re lam)/tau`` and turn at ``Im lam/tau``.

    Both are measured from the activity after the input stops, through the
    propagator fitted to it (:mod:`analysis.propagator`), so no eigenvector
    enters and a matrix that is not diagonalisable is measured like any
    other.  ``decay_rate`` is checked within ``rtol``; ``angular_frequency``
    within ``rtol`` of the mode's whole rate ``|1 - lam|/tau`` (its theory is
    0 for a real eigenvalue).  A frequency at or above the recording's
    Nyquist limit (``|Im lam| dt/tau >= pi``) is not resolved.
    """
    offset = float(ds["offset"])
    dt = measures.sample_interval(ds["rate"])
    fitted = propagator_eigenvalues(ds["rate"], offset)
    lam = ds["design_eigenvalues"]
    tau = ds["tau"]
    diverged = ds["diverged_at"].notnull()
    aliased = abs(np.imag(lam)) * dt / tau >= np.pi
    unresolved = ~fitted["resolved"] | aliased
    rate = decay_rate(fitted["z"], dt)
    frequency = angular_frequency(fitted["z"], dt)
    quantities = {
        "decay_rate": compare(
            rate,
            theory.decay_rate_theory(lam, tau),
            rtol,
            [("diverged", diverged & ~np.isfinite(rate)), ("not_resolved", unresolved)],
        ),
        "angular_frequency": compare(
            frequency,
            theory.angular_frequency_theory(lam, tau),
            rtol,
            [("diverged", diverged & ~np.isfinite(frequency)), ("not_resolved", unresolved)],
            scale=abs(1 - lam) / tau,
        ),
    }
    return checked_dataset("nonsymmetric", quantities, rtol, ds)


def saturating(ds: xr.Dataset, rtol: float, delay: float) -> xr.Dataset:
    """A saturating autapse with a brief input: memory where ``lam > 1``, none where ``lam < 1``.

    - ``fixed_point``: the rate at the end of the recording, against the
      stable solution of ``v* = f(lam v*)`` on the side of the input
      (:func:`analysis.theory.fixed_point_theory`), within ``rtol`` of the
      ceiling;
    - ``memory``: the sign of that rate (0 within ``rtol`` of the ceiling
      from 0), against the sign of the past input where ``lam > 1`` and 0
      where ``lam < 1``.
    """
    ceiling = ds["ceiling"] if "ceiling" in ds else None
    transfer = ceiling.attrs["transfer"] if ceiling is not None else "linear"
    size = float(ceiling) if ceiling is not None else float(abs(ds["h"]).max())
    lam = self_weights(ds)
    sign = np.sign(ds["h"])
    final = (
        ds["rate"]
        .isel(time=-1, drop=True)
        .assign_attrs(long_name="rate at the end of the recording, measured", units="Hz")
    )
    expected = theory.fixed_point_theory(lam, sign, transfer, size)
    diverged = ds["diverged_at"].notnull()
    reasons = [
        ("integrator", theory.is_integrator(lam)),
        ("diverged", diverged & ~np.isfinite(final)),
        ("not_applicable", ~np.isfinite(expected)),
    ]
    scale = xr.DataArray(size)
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
        "fixed_point": compare(final, expected, rtol, reasons, scale=scale),
        "memory": compare(remembered, memory_theory, rtol, reasons, scale=absolute()),
    }
    return checked_dataset("saturating", quantities, rtol, ds)


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
"""Every check by name; each takes (ds, rtol, delay) and returns measured, theory and verdicts."""
