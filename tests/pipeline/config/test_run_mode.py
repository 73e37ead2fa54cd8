"""What lets the CLI learn Hydra's run mode without Hydra's extra composition
(``skip_mode_composition``; the adapter itself: tests/pipeline/adapters/test_hydra.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from pipeline.config.compose import (
    CONF,
    PRIMARY,
    register_resolvers,
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
