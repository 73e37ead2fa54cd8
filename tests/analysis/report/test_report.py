"""The report of a store: the figures show the measured points on the theory curves."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from matplotlib.lines import Line2D
from sweeps import compose_config

from analysis.report import autapse, figures, generic, pair, report_directory, write_report
from pipeline.run.execute import run_sweep

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """The default autapse and pair sweeps, and a small runaway one, run into stores."""
    root = tmp_path_factory.mktemp("report")
    results = {}
    for name, extra in (
        ("autapse", []),
        ("pair", []),
        ("runaway", ["sweep.grid.coupling=[1.2,1.5]", "sweep.grid.tau=[0.05]"]),
    ):
        config = compose_config([f"+sweep={name}", f"store.path={root / name}.zarr", *extra])
        results[name] = run_sweep(config)
    return results


def marker_lines(ax) -> list[Line2D]:
    return [line for line in ax.lines if line.get_linestyle() == "None"]


def test_autapse_gain_figure_puts_every_measured_gain_on_1_over_1_minus_lam(stores):
    """Each marker of the gain figure is 1/(1-lam) to 1e-9; the theory line is 1/(1-lam)."""
    with xr.open_zarr(stores["autapse"].path, chunks=None) as ds:
        ax = autapse.gain_figure(ds).axes[0]
    theory = next(line for line in ax.lines if line.get_label().startswith("theory"))
    x, y = theory.get_data()
    np.testing.assert_allclose(y, 1 / (1 - x), rtol=1e-12)
    markers = marker_lines(ax)
    assert len(markers) == 3  # one per tau
    for line in markers:
        lam, gain = (np.asarray(v, dtype=float) for v in line.get_data())
        measured = np.isfinite(gain)
        assert measured.sum() == 9  # the 9 lam below 1; none at lam >= 1
        np.testing.assert_allclose(gain[measured], 1 / (1 - lam[measured]), rtol=1e-9)
    assert ax.get_xlabel() and ax.get_ylabel() and "1/(1-λ)" in ax.get_title()


def test_autapse_tau_eff_figure_shows_rise_and_decay_on_1_over_1_minus_lam(stores):
    """A panel per phase, a series per tau (their rings nested): every one on 1/(1-lam)."""
    with xr.open_zarr(stores["autapse"].path, chunks=None) as ds:
        axes = autapse.tau_eff_figure(ds).axes
    assert [ax.get_title().split(":")[0] for ax in axes] == ["rise", "decay"]
    for ax in axes:
        markers = marker_lines(ax)
        assert len(markers) == 3  # one per tau
        assert len({line.get_markersize() for line in markers}) == 3  # nested, not hidden
        for line in markers:
            lam, ratio = (np.asarray(v, dtype=float) for v in line.get_data())
            measured = np.isfinite(ratio)
            assert measured.sum() == 12  # every lam but the integrator, lam = 1
            np.testing.assert_allclose(ratio[measured], 1 / (1 - lam[measured]), rtol=1e-9)


def test_autapse_time_courses_are_the_step_response_of_each_lam(stores):
    """Simulated samples on the closed form: h/(1-lam)(1 - e^(-(1-lam)t/tau)), h t/tau at 1."""
    with xr.open_zarr(stores["autapse"].path, chunks=None) as ds:
        ax = autapse.time_course_figure(ds).axes[0]
        onset, offset = float(ds["onset"]), float(ds["offset"])
    assert "tau (τ) = 0.05 s" in ax.get_title()
    theories = [line for line in ax.lines if line.get_label().endswith(": theory")]
    samples = marker_lines(ax)
    assert len(theories) == len(samples) == 5  # lam = -1, 0.5, 0.9, 1, 1.25
    for theory, sample in zip(theories, samples, strict=True):
        lam = float(theory.get_label().split("=")[1].split(":")[0])

        def expected(t, lam=lam):
            on = np.clip(t - onset, 0, offset - onset)
            after = np.clip(t - offset, 0, None)
            if lam == 1:
                return 1.0 * on / 0.05  # the ramp h t/tau, then held
            k = (1 - lam) / 0.05
            return (1 - np.exp(-k * on)) / (1 - lam) * np.exp(-k * after)

        t, v = (np.asarray(x, dtype=float) for x in sample.get_data())
        np.testing.assert_allclose(v, expected(t), rtol=1e-9, atol=1e-12)
        line_t, line_v = (np.asarray(x, dtype=float) for x in theory.get_data())
        assert len(line_t) >= 100  # the closed form on a fine grid
        np.testing.assert_allclose(line_v, expected(line_t), rtol=1e-9, atol=1e-12)


def test_pair_mode_gains_lie_on_1_over_1_minus_and_plus_w(stores):
    """Markers of the mode along (1, 1) on 1/(1-w), along (1, -1) on 1/(1+w)."""
    with xr.open_zarr(stores["pair"].path, chunks=None) as ds:
        ax = pair.mode_gain_figure(ds).axes[0]
    along = {"(1, 1)": -1.0, "(1, -1)": 1.0}
    markers = marker_lines(ax)
    assert len(markers) == 2
    for line in markers:
        sign = next(s for name, s in along.items() if f"mode {name}/" in line.get_label())
        w, gain = (np.asarray(v, dtype=float) for v in line.get_data())
        # Every direction and tau give one gain per coupling: each drawn once.
        assert len(w) == len(set(w)) >= 6
        np.testing.assert_allclose(gain, 1 / (1 + sign * w), rtol=1e-9)


def test_pair_state_space_arrows_are_eigenvectors_scaled_by_gain(stores):
    """At w = 0.8 the arrows end at |h| (1, 1)/sqrt2 x 5 and |h| (1, -1)/sqrt2 / 1.8."""
    with xr.open_zarr(stores["pair"].path, chunks=None) as ds:
        fig = pair.state_space_figure(ds)
        size = float(np.linalg.norm(ds["h"].isel(coupling=0, input_angle=0, tau=0)))
    ax = fig.axes[0]
    assert "coupling (w) = 0.8" in ax.get_title()
    heads = sorted((np.asarray(a.xy) for a in ax.texts if hasattr(a, "xy")), key=np.linalg.norm)
    expected = [
        size / 1.8 * np.array([1, -1]) / np.sqrt(2),
        size * 5 * np.array([1, 1]) / np.sqrt(2),
    ]
    for head, want in zip(heads, expected, strict=True):
        np.testing.assert_allclose(np.abs(head), np.abs(want), rtol=1e-9)


def test_any_other_scenario_gets_measured_against_theory_with_the_slice_named(stores):
    """Beside its own figure, runaway gets each checked quantity against its mode's eigenvalue:
    the growth rate of the mode with eigenvalue +w is (w - 1)/tau, its closed form the line."""
    with xr.open_zarr(stores["runaway"].path, chunks=None) as ds:
        drawn = figures(ds)
        assert set(drawn) == {"runaway", *generic.figures(ds)}
        assert set(drawn) >= {"growth_rate", "tau_eff"}
        ax = drawn["growth_rate"].axes[0]
        assert "slice: input_angle = " in ax.get_title()
        assert "coupling (w)" in ax.get_xlabel()
        x = ds["coupling"].values
    lines = marker_lines(ax)
    assert [line.get_label().split(", ")[-1] for line in lines] == ["phase rise", "phase decay"]
    for line in lines:
        lam, rate = (np.asarray(v, dtype=float) for v in line.get_data())
        np.testing.assert_allclose(np.sort(lam), x)  # the growing mode's eigenvalue is +w
        np.testing.assert_allclose(rate, (lam - 1) / 0.05, rtol=1e-6)
    (theory,) = [t for t in ax.lines if t.get_label().startswith("theory")]
    t_lam, t_rate = (np.asarray(v, dtype=float) for v in theory.get_data())
    assert len(t_lam) >= 100
    np.testing.assert_allclose(t_rate, (t_lam - 1) / 0.05, rtol=1e-12)


def test_report_directory_holds_the_figures_and_a_page_naming_the_run(stores, tmp_path):
    result = stores["autapse"]
    with xr.open_zarr(result.path, chunks=None) as ds:
        page = write_report(ds, result.path, result.summary)
        fingerprint = ds.attrs["fingerprint"]
    assert page == report_directory(result.path) / "index.html"
    assert page.parent.name == "autapse.report"
    pngs = sorted(p.name for p in page.parent.glob("*.png"))
    assert pngs == ["gain.png", "persistence.png", "tau_eff.png", "time_courses.png"]
    assert all((page.parent / p).read_bytes().startswith(PNG_SIGNATURE) for p in pngs)
    text = page.read_text()
    assert fingerprint in text
    assert f"<td>{result.run_id} in {result.catalog}</td>" in text
    assert "39 ok" in text
    assert "gain vs 1/(1-lam)                    27 agree, 0 disagree" in text
    assert text.count("data:image/png;base64,") == 4  # self-contained


@pytest.mark.parametrize(
    "overrides",
    [
        ("sweep.grid.tau=[1e-300]",),  # nothing resolved: theory curves overflow
        ("sweep.grid.lam=[1.5,2]", "stimulus.amplitude=1e7"),  # every point diverges
    ],
)
def test_a_sweep_with_nothing_measurable_still_gets_its_report_without_warnings(
    tmp_path, overrides
):
    """Warnings are errors here: no overflow, no empty log axis escapes the report."""
    path = tmp_path / "s.zarr"
    result = run_sweep(compose_config(["+sweep=autapse", *overrides, f"store.path={path}"]))
    with xr.open_zarr(path, chunks=None) as ds:
        page = write_report(ds, path, result.summary)
    assert len(list(page.parent.glob("*.png"))) == 4
    assert result.summary.verdict in page.read_text()


def test_log_axes_are_labelled_in_plain_text_without_minor_ticks_over_many_decades(stores):
    """Persistence spans 7 decades: whole decades, each labelled alike (1e-6 ... 1, 10, 100),
    no mathtext, no minor ticks."""
    from analysis.report import png

    with xr.open_zarr(stores["autapse"].path, chunks=None) as ds:
        fig = autapse.persistence_figure(ds)
    png(fig)  # draws: the tick labels are set
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    labels = [
        t.get_text()
        for t, at in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)
        if low <= at <= high
    ]
    decades = range(round(np.log10(low)), round(np.log10(high)) + 1)
    assert np.log10(low) == round(np.log10(low)) and np.log10(high) == round(np.log10(high))
    expected = [f"{10**k:d}" if 0 <= k <= 2 else f"1e{k}" for k in decades]
    assert labels == expected and {"1e-6", "1e-1", "1", "10"} <= set(labels)
    assert not any("$" in label for label in labels)
    assert ax.yaxis.get_minorticklocs().size == 0


def test_a_quantity_measured_nowhere_is_drawn_as_its_theory_and_says_so(tmp_path):
    """tau = 1e-300 s: no time constant is resolved; the figure draws tau/(1-lam) alone,
    says it was measured at no point, and lists no measured series in its legend."""
    path = tmp_path / "p.zarr"
    overrides = ["+sweep=autapse", "network=pair", "~sweep.grid.lam",
                 "+sweep.grid.coupling=[0.5,0.8]", "+sweep.grid.input_angle=[0.0]",
                 "sweep.grid.tau=[1e-300]", "analysis.check=linear_modes",
                 f"store.path={path}", "report=false"]  # fmt: skip
    run_sweep(compose_config(overrides))
    with xr.open_zarr(path, chunks=None) as ds, np.errstate(all="ignore"):
        ax = generic.quantity_figure(ds, "tau_eff").axes[0]
    assert "measured at no point" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "theory tau/(1-lam), tau (τ) = 1e-300 s"
    ]
    (line,) = ax.lines
    lam, tau_eff = (np.asarray(v, dtype=float) for v in line.get_data())
    assert len(lam) >= 100 and lam.min() < -0.8 and lam.max() > 0.8  # both modes, +-w
    np.testing.assert_allclose(tau_eff, 1e-300 / (1 - lam), rtol=1e-12)
