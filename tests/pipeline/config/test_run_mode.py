"""Hydra's run mode learnt without its extra composition (``skip_mode_composition``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra._internal.hydra import Hydra

from pipeline.config.compose import (
    CONF,
    PRIMARY,
    register_resolvers,
    skip_mode_composition,
    store_schemas,
)
from pipeline.store import verify
from pipeline.store.kinds import open_sweep_store as S


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "option",
    [
        *(f"+sweep={name}" for name in _options("sweep")),
        *(f"cluster={name}" for name in _options("cluster")),
        *(f"tracking={name}" for name in _options("tracking")),
    ],
)
def test_no_option_of_conf_sets_hydra_mode(option: str):
    """What lets the pipeline give Hydra's answer itself: none of its configs sets the mode."""
    register_resolvers()
    store_schemas()
    sweep = [] if option.startswith("+sweep") else ["+sweep=autapse"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=PRIMARY, overrides=[*sweep, option], return_hydra_config=True)
    assert cfg.hydra.mode is None


def test_hydra_asks_only_where_the_command_line_could_set_the_mode(monkeypatch):
    asked = []
    monkeypatch.setattr(Hydra, "get_mode", lambda self, name, overrides: asked.append(name))
    skip_mode_composition(["+sweep=autapse"])
    assert Hydra.get_mode(None, PRIMARY, ["+sweep=autapse", "hydra.run.dir=x"]) is None
    assert asked == []
    could = [
        "hydra.mode=MULTIRUN",
        "+hydra.mode=RUN",
        "hydra.searchpath=[file://x]",
        "hydra/launcher=basic",
    ]
    for override in could:
        Hydra.get_mode(None, PRIMARY, ["+sweep=autapse", override])
    Hydra.get_mode(None, "another", ["+sweep=autapse"])
    assert asked == [PRIMARY] * len(could) + ["another"]


def test_another_config_directory_leaves_hydra_as_it_is(monkeypatch):
    def asks(self, name, overrides):
        return "asked"

    monkeypatch.setattr(Hydra, "get_mode", asks)
    skip_mode_composition(["--config-dir", "elsewhere", "+sweep=autapse"])
    skip_mode_composition(["-cn=other", "+sweep=autapse"])
    assert Hydra.get_mode is asks


@pytest.mark.slow
def test_hydra_mode_on_the_command_line_still_makes_a_multirun(tmp_path: Path, run_cli):
    done = run_cli(
        "+sweep=autapse",
        "sweep.grid.lam=[0.5]",
        "sweep.grid.tau=[0.02],[0.05]",
        "store.path=results/t${sweep.grid.tau.0}.zarr",
        "hydra.mode=MULTIRUN",
    )
    assert done.returncode == 0, done.stderr
    assert "multirun: all 2 jobs passed" in done.stdout
    for name in ("t0.02.zarr", "t0.05.zarr"):
        assert verify.inspect(S(tmp_path / "results" / name)).exit_code == 0
