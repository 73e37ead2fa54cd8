"""Every sweep composes; bad scenario settings are refused with the key and value named."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweeps import SCENARIOS, SWEEPS, compose_config

from pipeline.config.schema import ConfigError
from pipeline.model.networks import NETWORKS


def test_every_scenario_of_the_lecture_has_a_sweep():
    assert set(SCENARIOS) <= set(SWEEPS)


@pytest.mark.parametrize("sweep", SWEEPS)
def test_every_sweep_composes_and_names_itself(sweep):
    config = compose_config([f"+sweep={sweep}"])
    assert config.sweep.name == sweep
    kind = NETWORKS[config.network.kind]
    assert config.analysis.check is None or config.analysis.check in kind.checks


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (["+sweep=saturating_memory", "solver.method=exact"], "network.transfer='tanh'"),
        (["+sweep=saturating_memory", "network.transfer=sigmoid"], "network.transfer='sigmoid'"),
        (["+sweep=saturating_memory", "network.ceiling=0"], "network.ceiling=0"),
        (["+sweep=pair", "analysis.check=gain_matrix"], "analysis.check='gain_matrix'"),
        (["+sweep=spectrum", "sweep.grid.seed=[0.5]"], "sweep.grid.seed=[0.5]"),
        (["+sweep=spectrum", "sweep.grid.seed=[-1]"], "sweep.grid.seed=[-1.0]"),
        (["+sweep=spectrum", "stimulus.offset=0.851"], "input epochs"),
        (["+sweep=spectrum", "network.random_inputs=-1"], "network.random_inputs=-1"),
        (["+sweep=spectrum", "network.eigenvalues=[]"], "network.eigenvalues"),
        (["+sweep=feedforward", "network.inputs=6"], "network.inputs=6"),
        (["+sweep=saturating_memory", "solver.max_step=0"], "solver.max_step=0"),
        (["+sweep=saturating_memory", "solver.max_step=inf"], "solver.max_step=inf"),
        (["+sweep=saturating_memory", "solver.rtol=0"], "solver.rtol=0"),
        (["+sweep=saturating_memory", "solver.rtol=1e-20"], "solver.rtol=1e-20"),
        (["+sweep=saturating_memory", "solver.rtol=1"], "solver.rtol=1"),
        (["+sweep=saturating_memory", "solver.atol=0"], "solver.atol=0"),
        (["+sweep=saturating_memory", "solver.atol=nan"], "solver.atol=nan"),
        (["+sweep=nonsymmetric", "+sweep.grid.lam=[0.5]"], "sweep.grid.lam"),
    ],
)
def test_bad_scenario_settings_are_refused_naming_key_and_value(overrides, named):
    with pytest.raises(ConfigError) as error:
        compose_config(overrides)
    assert named in str(error.value)


def test_readme_table_lists_every_sweep_with_its_command_and_page():
    root = Path(__file__).resolve().parents[3]
    readme = (root / "README.md").read_text()
    nav = (root / "mkdocs.yml").read_text()
    for sweep in SWEEPS:
        assert f"`.venv/bin/python -m pipeline +sweep={sweep}`" in readme, sweep
        assert f"(docs/scenarios/{sweep}.md)" in readme, sweep
        assert f"scenarios/{sweep}.md" in nav, sweep
