"""No PASS without evidence: a quantity that applies but is measured nowhere is INCONCLUSIVE."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import hydra_config

from pipeline.__main__ import VERDICT_CODES, execute


@pytest.mark.parametrize(
    ("overrides", "unmeasured"),
    [
        # tau far below the recording step: nothing is resolved at any point.
        (("sweep.grid.tau=[1e-300]",), "gain, tau_eff, persistence, ramp_slope"),
        # A loud input drives every point past the divergence bound: no gain is measured.
        (("stimulus.amplitude=1e7",), "gain, persistence, ramp_slope"),
    ],
)
def test_a_quantity_measured_at_no_point_makes_the_run_inconclusive(
    tmp_path: Path, overrides, unmeasured
):
    outcome = execute(hydra_config(tmp_path / "s.zarr", *overrides, sweep=("+sweep=autapse",)))
    assert outcome.code == VERDICT_CODES["INCONCLUSIVE"] == 4
    assert outcome.lines[-1] == (
        f"verdict (autapse): INCONCLUSIVE, {unmeasured} measured at no point (see why above), "
        "so the run is no evidence for their theory"
    )
    named = [line for line in outcome.lines if line.endswith("; measured at no point")]
    assert [line.split()[0] for line in named] == unmeasured.split(", ")


def test_a_quantity_that_applies_nowhere_does_not_withhold_the_pass(tmp_path: Path):
    """Without lam = 1 the ramp of an integrator applies at no point: PASS, exit 0."""
    outcome = execute(
        hydra_config(tmp_path / "s.zarr", "sweep.grid.lam=[0,0.5]", sweep=("+sweep=autapse",))
    )
    assert outcome.code == 0
    assert "ramp_slope vs h_a/tau                not applicable at any point" in "\n".join(
        outcome.lines
    )
    assert outcome.lines[-1].startswith("verdict (autapse): PASS")
