"""Long lists on the command line: compacted for Hydra's parser, the same values after it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from omegaconf import OmegaConf
from store_helpers import hydra_config
from sweeps import compose_config

from pipeline.config.compose import LONG_LIST, compact_lists
from pipeline.config.schema import ConfigError


def test_only_long_lists_of_plain_numbers_are_compacted():
    values = ",".join(str(i / 7) for i in range(LONG_LIST))
    overrides = [
        "+sweep=autapse",
        "sweep.grid.tau=[0.02,0.05]",  # short: left alone
        f"sweep.grid.lam=[{values}]",
        "network.weights=[[0,1],[1,0]]",  # nested: left alone
        "sweep.grid.x=[a" + ",b" * LONG_LIST + "]",  # not numbers: left alone
    ]
    compacted = compact_lists(overrides)
    assert compacted[:2] == overrides[:2] and compacted[3:] == overrides[3:]
    assert compacted[2] == f"sweep.grid.lam=${{numbers:'{values.replace(',', ' ')}'}}"


def test_a_compacted_list_gives_the_values_hydra_would_parse(tmp_path):
    lam = [round(-2 + i * 0.031, 3) for i in range(LONG_LIST + 6)]
    overrides = [f"sweep.grid.lam=[{','.join(map(str, lam))}]", "sweep.grid.tau=[0.02]"]
    parsed = OmegaConf.to_container(
        hydra_config(tmp_path / "s.zarr", *overrides, sweep=("+sweep=autapse",)), resolve=True
    )
    config = compose_config(["+sweep=autapse", *overrides])
    assert config.sweep.grid["lam"] == parsed["sweep"]["grid"]["lam"] == lam


def test_ten_thousand_values_on_the_command_line_start_at_once(tmp_path):
    """10 001 values resolve to 10 001 grid points (27 s through Hydra's parser unaided)."""
    values = ",".join(str(i / 10000) for i in range(10001))
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "+sweep=autapse", f"sweep.grid.lam=[{values}]",
         "--cfg", "job", "--resolve"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lam = OmegaConf.create(done.stdout).sweep.grid.lam
    assert len(lam) == 10001 and lam[1] == 0.0001 and lam[-1] == 1.0


def test_schemas_are_no_choices_in_help_or_on_the_command_line(run_cli):
    """The typed schemas the YAML files extend are not offered, and not accepted, as options."""
    shown = run_cli("--help")
    assert shown.returncode == 0
    groups = shown.stdout.split("== Sweeps and options ==")[1].split("== Config ==")[0]
    assert "cluster: distributed, processes, slurm, threads" in groups
    assert "solver: dopri5, exact, rk4" in groups
    assert "schema" not in groups and "base_" not in groups
    refused = run_cli("+sweep=autapse", "cluster=schema_cluster")
    assert refused.returncode == 2
    assert "Could not find 'cluster/schema_cluster'" in refused.stderr


def test_open_mappings_take_keys_the_schema_does_not_name():
    """sweep.grid takes the network's parameters; store.storage_options any s3fs option."""
    config = compose_config(
        [
            "+sweep=autapse",
            "network=pair",
            "~sweep.grid.lam",
            "+sweep.grid.coupling=[0.5]",
            "+sweep.grid.input_angle=[0.0]",
            "+store.storage_options.anon=true",
        ]
    )
    assert set(config.sweep.grid) == {"tau", "coupling", "input_angle"}
    assert config.store.storage_options == {"anon": True}


def test_a_key_no_schema_declares_is_refused_even_added_with_plus():
    with pytest.raises(ConfigError) as refused:
        compose_config(["+sweep=spectrum", "+network.eigenvalue=[0.5]"])
    assert str(refused.value) == (
        "network.eigenvalue is not a config key (did you mean network.eigenvalues?); "
        "nothing was written"
    )
