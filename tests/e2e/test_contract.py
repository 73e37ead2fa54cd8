"""The verdict contract over the whole configuration space (hypothesis).

Drawn sweeps span many decades of ``tau``, ``record.dt``, duration and
input amplitude, eigenvalues a hair from 1 and far from it.  Every one is
either refused before anything is computed (exit 2's :class:`ResourceError`)
or ends with every point ``ok`` or ``diverged``, raises no warning (warnings
are errors in this suite), and:

- every ``agrees`` is within the check's tolerance of theory;
- nothing ``disagrees``: the theory of a linear network is exact, so a
  disagreement could only be a false FAIL;
- every trajectory that stays finite matches an independent solution
  (scipy's ``solve_ivp``, Radau at rtol 1e-10) at ten recorded times.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from store_helpers import hydra_config
from sweeps import SWEEPS, compose_config

from analysis.checks import CHECKS
from analysis.checks.verdicts import VERDICTS
from pipeline import exits
from pipeline.__main__ import execute
from pipeline.block import simulate_block
from pipeline.config.schema import ConfigError
from pipeline.grid import Grid
from pipeline.run.plan import block_spec
from pipeline.run.resources import check_resources
from pipeline.store.status import STATUS


def _decade(low: float, high: float):
    return st.floats(low, high).map(lambda u: float(f"{10.0**u:.3g}"))


near_one = st.sampled_from([1e-9, 1e-8, 1e-7, 1e-5, 1e-3]).flatmap(
    lambda d: st.sampled_from([1 - d, 1 + d])
)
eigenvalue = st.one_of(st.floats(-5.0, 5.0).map(lambda x: round(x, 3)), near_one)


@st.composite
def sweeps(draw):
    """Overrides of one drawn sweep: network, its parameters, timing and input."""
    dt = draw(_decade(-5, -1))
    samples = draw(st.integers(10, 3000))
    onset = draw(st.integers(0, samples // 3))
    offset = draw(st.integers(onset + 2, samples - 1))
    amplitude = draw(_decade(-8, 12)) * draw(st.sampled_from([1, -1]))
    taus = sorted({draw(_decade(-6, 2)) for _ in range(2)})
    network = draw(st.sampled_from(["autapse", "pair"]))
    overrides = [
        "+sweep=autapse",
        f"record.dt={dt!r}",
        f"record.duration={dt * samples!r}",
        f"stimulus.onset={dt * onset!r}",
        f"stimulus.offset={dt * offset!r}",
        f"stimulus.amplitude={amplitude!r}",
        f"analysis.persistence_delay={dt * max(1, (samples - offset) // 2)!r}",
        f"sweep.grid.tau=[{','.join(map(repr, taus))}]",
    ]
    values = sorted({draw(eigenvalue) for _ in range(3)})
    if network == "autapse":
        overrides.append(f"sweep.grid.lam=[{','.join(map(repr, values))}]")
    else:
        angle = draw(st.floats(0.0, 3.1).map(lambda a: round(a, 3)))
        overrides += [
            "network=pair",
            "~sweep.grid.lam",
            f"+sweep.grid.coupling=[{','.join(map(repr, values))}]",
            f"+sweep.grid.input_angle=[{angle!r}]",
        ]
    return overrides


def _independent(weights: np.ndarray, tau: float, h: np.ndarray, onset, offset, times):
    """``tau dv/dt = -v + M v + h(t)`` by Radau, piece by piece between the input's switches."""

    def rhs(_t, v, drive):
        return (-v + weights @ v + drive) / tau

    n = weights.shape[0]
    v = np.zeros(n)
    out = np.empty((times.size, n))
    edges = [times[0], onset, offset, times[-1]]
    for start, stop, drive in zip(edges[:-1], edges[1:], [0 * h, h, 0 * h], strict=True):
        inside = (times >= start) & (times <= stop)
        if stop > start:
            # Evaluated at the piece's end too: the next piece starts from there.
            at = times[inside]
            if at.size == 0 or at[-1] != stop:
                at = np.append(at, stop)
            solution = solve_ivp(
                rhs,
                (start, stop),
                v,
                "Radau",
                at,
                args=(drive,),
                rtol=1e-10,
                atol=1e-12 * max(1.0, float(np.abs(h).max())),
            )
            out[inside] = solution.y[:, : inside.sum()].T
            v = solution.y[:, -1]
    return out


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sweeps())
# What the test found, kept as examples that CI always runs:
# lam = 1 + 1e-8 at dt = 1e-5 s: the growth per sample (3e-14) is within a few
# roundings of the propagator, so its time constant is not resolved, not wrong.
@example(
    [
        "+sweep=autapse",
        "record.dt=1e-05",
        "record.duration=0.011210000000000001",
        "stimulus.onset=0.0",
        "stimulus.offset=2e-05",
        "stimulus.amplitude=1.0",
        "analysis.persistence_delay=0.00559",
        "sweep.grid.tau=[1.0,3.16]",
        "sweep.grid.lam=[0.0,1.00000001]",
    ]
)
# lam = 1 - 1e-9 (an integrator within tolerance) with tau = 1e-5 s ramping for
# 20 s: (1 - lam) T / tau = 2e-3, so the mean slope is h/tau (1 - e^-x)/x, not h/tau.
@example(
    [
        "+sweep=autapse",
        "record.dt=0.1",
        "record.duration=20.200000000000003",
        "stimulus.onset=0.0",
        "stimulus.offset=20.1",
        "stimulus.amplitude=0.1",
        "analysis.persistence_delay=0.1",
        "sweep.grid.tau=[1e-05,1.0]",
        "sweep.grid.lam=[0.0,0.999999999]",
    ]
)
def test_every_run_is_refused_or_measured_honestly(overrides):
    try:
        config = compose_config(overrides)
        grid = Grid.from_config(config.sweep.grid)
        check_resources(config, grid)
    except ConfigError:  # ResourceError included
        return  # refused before anything was computed: part of the contract
    ds = simulate_block(block_spec(config), grid, tuple(slice(None) for _ in grid.dims))

    assert np.isin(ds["status"], [STATUS["ok"], STATUS["diverged"]]).all()
    rtol = config.analysis.rtol
    for quantity in CHECKS[config.check_name].quantities:
        code = ds[f"{quantity}_check"]
        assert not (code == VERDICTS["disagrees"]).any(), (quantity, overrides)
        agrees = (code == VERDICTS["agrees"]).values
        if agrees.any():
            theory = ds[f"{quantity}_theory"].broadcast_like(code).values[agrees]
            scale = (
                ds[f"{quantity}_scale"].broadcast_like(code).values[agrees]
                if f"{quantity}_scale" in ds
                else np.abs(theory)
            )
            measured = ds[quantity].broadcast_like(code).values[agrees]
            assert (np.abs(measured - theory) <= rtol * scale).all(), (quantity, overrides)

    # The trajectories themselves, at 10 recorded times, of the points that stay finite.
    times = ds["time"].values
    picks = np.unique(np.linspace(0, times.size - 1, 10).astype(int))
    rate = ds["rate"].stack(point=grid.dims).transpose("point", ...)
    weights = ds["weights"].stack(point=grid.dims).transpose("point", ...).values
    h = ds["h"].broadcast_like(ds["status"]).stack(point=grid.dims).transpose("point", ...)
    tau = ds["tau"].broadcast_like(ds["status"]).stack(point=grid.dims).values
    compared = 0
    for k in range(rate.sizes["point"]):
        stored = rate.values[k]
        if not np.isfinite(stored).all() or np.abs(stored).max() > 1e12 * np.abs(h.values[k]).max():
            continue
        if times[-1] > 1e4 * tau[k]:
            continue  # too many time constants for Radau at rtol 1e-10 in a test's time
        onset, offset = float(ds["onset"]), float(ds["offset"])
        reference = _independent(weights[k], tau[k], h.values[k], onset, offset, times[picks])
        # Radau's own error: rtol 1e-10 of the values, atol 1e-12 of the input's size.
        allowed = 1e-6 * np.abs(reference).max() + 1e-9 * max(1.0, np.abs(h.values[k]).max())
        assert np.abs(stored[picks] - reference).max() <= allowed, overrides
        compared += 1
        if compared == 2:
            break


# --- Every scenario, through the command's own entry point --------------------------

ANGLES = [0.0, 0.3, 0.7853981633974483, 2.356194490192345, 3.0]
"""Input directions: pi/4 and 3 pi/4 lie along the pair's eigenvectors (one mode undriven)."""

exact_or_near_one = st.sampled_from([1.0, -1.0, 1 - 1e-9, 1 + 1e-9, 1 - 1e-6, 1 + 1e-6])
coupling = st.one_of(st.floats(-3.0, 3.0).map(lambda x: round(x, 2)), exact_or_near_one)
tiny_or_zero = st.sampled_from([0.0, 1e-12, -1e-9, 1e-6])
amplitude = st.one_of(st.sampled_from([1.0, -1.0, 2.0, -2.0]), tiny_or_zero)


def _listed(values) -> str:
    return "[" + ",".join(repr(float(v)) for v in sorted(set(values))) + "]"


def _drawn(draw, strategy, most: int = 2) -> str:
    return _listed(draw(strategy) for _ in range(draw(st.integers(1, most))))


@st.composite
def scenario_sweeps(draw):
    """Overrides of one sweep of any scenario, at its edges: exact singular couplings,
    ``Re(lam)`` at and near 1, zero and tiny inputs, directions orthogonal to a mode,
    solver steps from far below ``tau`` to above it."""
    name = draw(st.sampled_from(SWEEPS))
    taus = _drawn(draw, _decade(-2.5, -1))
    overrides = [f"+sweep={name}", f"sweep.grid.tau={taus}"]
    if name == "saturating_memory":  # the solver's own steps, from far below tau to above it
        overrides[1] = f"sweep.grid.tau={_drawn(draw, _decade(-3, -1.5))}"
    if name == "autapse":
        overrides.append(
            f"sweep.grid.lam={_drawn(draw, st.one_of(eigenvalue, exact_or_near_one), 3)}"
        )
        overrides.append(f"stimulus.amplitude={draw(amplitude)!r}")
    elif name in ("pair", "mutual_inhibition", "runaway", "integrator"):
        overrides.append(f"sweep.grid.coupling={_drawn(draw, coupling)}")
        overrides.append(f"sweep.grid.input_angle={_drawn(draw, st.sampled_from(ANGLES))}")
        if name == "integrator":
            overrides.append(f"sweep.grid.amplitude={_drawn(draw, amplitude)}")
        else:
            overrides.append(f"stimulus.amplitude={draw(amplitude)!r}")
    elif name == "autapse_pair":
        overrides.append(
            f"sweep.grid.lam1={_drawn(draw, st.one_of(eigenvalue, exact_or_near_one))}"
        )
        overrides.append(f"sweep.grid.lam2={_drawn(draw, eigenvalue)}")
        overrides.append(f"sweep.grid.input_angle={_drawn(draw, st.sampled_from(ANGLES))}")
    elif name == "nonsymmetric":
        real = st.one_of(st.floats(-1.0, 1.5).map(lambda x: round(x, 2)), exact_or_near_one)
        overrides.append(f"sweep.grid.lam_real={_drawn(draw, real)}")
        overrides.append(f"sweep.grid.lam_imag={_drawn(draw, st.sampled_from([0.0, 0.5, 2.0]))}")
    elif name == "matrix":
        w = draw(st.one_of(st.floats(-1.5, 1.5).map(lambda x: round(x, 2)), exact_or_near_one))
        overrides.append(f"network.weights=[[0.0,{w!r}],[{w!r},0.0]]")
    elif name in ("feedforward", "spectrum"):
        overrides.append(f"sweep.grid.seed={_drawn(draw, st.integers(0, 9).map(float))}")
    elif name == "saturating_memory":
        remembers = st.one_of(eigenvalue, exact_or_near_one).filter(lambda x: x >= 0)
        overrides.append(f"sweep.grid.lam={_drawn(draw, remembers)}")
        overrides.append(f"sweep.grid.amplitude={_drawn(draw, amplitude)}")
        overrides.append(f"network.transfer={draw(st.sampled_from(['tanh', 'clip']))}")
        overrides.append(f"solver={draw(st.sampled_from(['dopri5', 'rk4']))}")
        overrides.append(f"solver.max_step={draw(_decade(-5, -1.5))!r}")
    return overrides


def _transfer(name: str, ceiling: float):
    if name == "tanh":
        return lambda x: ceiling * np.tanh(x / ceiling)
    if name == "clip":
        return lambda x: np.clip(x, -ceiling, ceiling)
    return lambda x: x


def _radau(weights, tau, drives, switches, times, f):
    """``tau dv/dt = -v + f(M v + h(t))`` by Radau at rtol 1e-10, piece by piece between the
    input's ``switches`` (``drives[k]`` from ``switches[k]``)."""
    v = np.zeros(weights.shape[0])
    out = np.empty((times.size, v.size))
    edges = [times[0], *switches, times[-1]]
    # The response of a linear network scales with its input: so does Radau's absolute error.
    scale = max(float(np.abs(drives).max()), 1e-30)
    for k, (start, stop) in enumerate(itertools.pairwise(edges)):
        drive = drives[k]
        inside = (times >= start) & (times < stop) if k < len(edges) - 2 else times >= start
        if stop <= start:
            continue
        at = (
            np.append(times[inside], stop)
            if not inside.any() or times[inside][-1] != stop
            else times[inside]
        )
        done = solve_ivp(
            lambda _t, x, drive=drive: (-x + f(weights @ x + drive)) / tau,
            (start, stop),
            v,
            "Radau",
            np.clip(at, start, stop),
            rtol=1e-10,
            atol=1e-12 * scale,
        )
        out[inside] = done.y[:, : inside.sum()].T
        v = done.y[:, -1]
    return out


def _drives(ds: xr.Dataset, h: np.ndarray):
    """The input's pieces for one point: 0, then each epoch's ``h``, then 0; their starts."""
    onset, offset = float(ds["onset"]), float(ds["offset"])
    if "epoch" in ds["h"].dims:
        starts = [float(s) for s in ds["epoch_start"].values]
        pieces = [np.zeros(h.shape[-1]), *h, np.zeros(h.shape[-1])]
    else:
        starts = [onset]
        pieces = [np.zeros(h.shape[-1]), h, np.zeros(h.shape[-1])]
    return np.array(pieces), [*starts, offset]


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario_sweeps())
# What issue 29 found, kept as examples that CI always runs:
# an exact singular I - M (one mode at eigenvalue 1): was a LinAlgError in the report, exit 1.
@example(["+sweep=pair", "sweep.grid.tau=[0.02]", "sweep.grid.coupling=[1.0]",
          "sweep.grid.input_angle=[0.3]", "stimulus.amplitude=1.0"])  # fmt: skip
@example(["+sweep=mutual_inhibition", "sweep.grid.tau=[0.05]", "sweep.grid.coupling=[-1.0]",
          "sweep.grid.input_angle=[0.7853981633974483,2.356194490192345]",
          "stimulus.amplitude=1.0"])  # fmt: skip
# Re(lam) = 1: a decay-rate theory of 0 gave a relative error of inf and FAIL.
@example(["+sweep=nonsymmetric", "sweep.grid.tau=[0.1]", "sweep.grid.lam_real=[1.0]",
          "sweep.grid.lam_imag=[0.0,0.5]"])  # fmt: skip
# The integrator alone: gain and tau_eff have no finite theory; was INCONCLUSIVE.
@example(["+sweep=autapse", "sweep.grid.tau=[0.02]", "sweep.grid.lam=[1.0]",
          "stimulus.amplitude=1.0"])  # fmt: skip
# Zero input to a saturating network at its unstable fixed point: was PASS.
@example(["+sweep=saturating_memory", "sweep.grid.tau=[0.01]", "sweep.grid.lam=[1.5]",
          "sweep.grid.amplitude=[0.0]", "network.transfer=tanh"])  # fmt: skip
# A coarse step (max_step = tau): rk4 was 6.7e-3 off Radau and passed (now not resolved,
# by its error estimate); dopri5 meets its tolerance at the same setting.
@example(["+sweep=saturating_memory", "sweep.grid.tau=[0.001]", "sweep.grid.lam=[0.5,2.0]",
          "sweep.grid.amplitude=[2.0]", "solver=rk4", "solver.max_step=0.001"])  # fmt: skip
@example(["+sweep=saturating_memory", "sweep.grid.tau=[0.001]", "sweep.grid.lam=[0.5,2.0]",
          "sweep.grid.amplitude=[2.0]", "solver.max_step=0.001"])  # fmt: skip
# A propagator beyond float range before the input: the rate was NaN from the second sample.
@example(["+sweep=autapse", "sweep.grid.tau=[0.001]", "sweep.grid.lam=[720.0,1000.0]",
          "stimulus.amplitude=1.0"])  # fmt: skip
def test_every_scenario_is_refused_or_ends_with_an_honest_verdict(overrides):
    """Through ``execute`` (the command without its process): no traceback, no warning, an
    exit code that is the verdict's, no PASS without a quantity measured, and no ``agrees``
    at a point whose trajectory is further than the tolerance from Radau's."""
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "s.zarr"
        outcome = execute(hydra_config(store, "report=false", *overrides[1:], sweep=overrides[:1]))
        if outcome.code == exits.REFUSED:
            assert not store.exists()
            assert outcome.errors and outcome.errors[0].startswith("error: ")
            return
        verdict = outcome.lines[-1].split(": ", 1)[1].split(",", 1)[0]
        assert outcome.code == exits.VERDICT_CODES[verdict], (outcome.lines, overrides)
        with xr.open_zarr(store) as stored:
            ds = stored.load()
    config = compose_config(overrides)
    quantities = CHECKS[config.check_name].quantities
    agrees_any = {q: (ds[f"{q}_check"] == VERDICTS["agrees"]) for q in quantities}
    if verdict == "PASS":
        assert any(bool(a.any()) for a in agrees_any.values()), (outcome.lines, overrides)
    assert not any(bool((ds[f"{q}_check"] == VERDICTS["disagrees"]).any()) for q in quantities), (
        outcome.lines,
        overrides,
    )
    # The trajectories of up to three points where some quantity agrees, against Radau.
    dims = list(ds["status"].dims)
    agreeing = np.zeros(ds["status"].shape, dtype=bool)
    for a in agrees_any.values():
        agreeing |= a.any([d for d in a.dims if d not in dims]).transpose(*dims).values
    f = _transfer(config.network.transfer, config.network.ceiling)
    times = ds["time"].values
    picks = np.unique(np.linspace(0, times.size - 1, 12).astype(int))
    tolerance = config.analysis.rtol
    for index in list(zip(*np.nonzero(agreeing), strict=True))[:2]:
        point = ds.isel(dict(zip(dims, index, strict=True)))
        tau = float(point["tau"])
        if times[-1] > 2000 * tau:
            continue  # too many time constants for Radau at rtol 1e-10 in a test's time
        drives, switches = _drives(ds, point["h"].values)
        stored = point["rate"].values[picks]
        # A diverged point is stored up to its divergence (then NaN): compared up to there.
        kept = np.isfinite(stored).all(axis=1)
        kept &= np.abs(stored).max(axis=1, initial=0) <= 1e12 * max(np.abs(drives).max(), 1.0)
        if not kept.any():
            continue
        upto = picks[: int(np.argmin(kept)) if not kept.all() else kept.size]
        reference = _radau(point["weights"].values, tau, drives, switches, times[upto], f)
        size = np.abs(reference).max()
        allowed = tolerance * size + 1e-9 * np.abs(drives).max()  # + Radau's own error
        error = np.abs(point["rate"].values[upto] - reference).max(initial=0)
        assert error <= allowed, (overrides, index)
