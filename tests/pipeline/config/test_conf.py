"""Every config composes; grids come from lists or ranges; bad values are refused by key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sweeps import CONF, SWEEPS, compose_config

from pipeline.config.schema import ConfigError

CLUSTERS = sorted(p.stem for p in (CONF / "cluster").glob("*.yaml"))
NETWORKS = sorted(p.stem for p in (CONF / "network").glob("*.yaml"))


@pytest.mark.parametrize("sweep", SWEEPS)
def test_every_sweep_composes_and_validates(sweep):
    config = compose_config([f"+sweep={sweep}"])
    assert config.sweep.name
    assert "tau" in config.sweep.grid
    assert all(len(values) >= 1 for values in config.sweep.grid.values())


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_every_cluster_option_composes(cluster):
    config = compose_config(["+sweep=autapse", f"cluster={cluster}"])
    assert config.cluster.scheduler == cluster


@pytest.mark.parametrize("network", NETWORKS)
def test_every_network_option_has_a_builder(network):
    from pipeline.model.networks import NETWORKS as BUILDERS

    assert network in BUILDERS


def test_grid_values_from_a_list_and_from_a_range():
    config = compose_config(
        ["+sweep=autapse", "sweep.grid.lam=[0,0.5]", "sweep.grid.tau=${linspace:0.01,0.05,5}"]
    )
    assert config.sweep.grid["lam"] == [0.0, 0.5]
    np.testing.assert_allclose(config.sweep.grid["tau"], [0.01, 0.02, 0.03, 0.04, 0.05])
    log = compose_config(["+sweep=autapse", "sweep.grid.tau=${geomspace:0.001,0.1,3}"])
    np.testing.assert_allclose(log.sweep.grid["tau"], [0.001, 0.01, 0.1])


def test_store_path_defaults_to_the_sweep_name():
    assert compose_config(["+sweep=autapse"]).store.path == "results/autapse.zarr"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("sweep.grid.tau=[0.02,-0.01]", "sweep.grid.tau"),
        ("sweep.grid.tau=[0.0]", "sweep.grid.tau"),
        ("sweep.grid.lam=[]", "sweep.grid.lam"),
        ("sweep.grid.lam=[0.5,0.5]", "sweep.grid.lam"),
        ("sweep.grid.lam=[nan]", "sweep.grid.lam"),
        ("record.dt=0", "record.dt"),
        ("record.dt=-0.001", "record.dt"),
        ("record.duration=0.1234567", "record.duration"),
        ("stimulus.offset=0.01", "stimulus.offset"),
        ("stimulus.onset=-1", "stimulus.onset"),
        ("analysis.persistence_delay=0.4", "record.duration"),
        ("stimulus.onset=0.0505", "stimulus.onset"),
        ("store.rate_dtype=int8", "store.rate_dtype"),
        ("cluster.n_workers=0", "cluster.n_workers"),
        ("solver.method=euler", "solver.method"),
    ],
)
def test_bad_values_are_refused_naming_the_key(override, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        compose_config(["+sweep=autapse", override])


def test_a_grid_parameter_the_network_does_not_take_is_refused():
    with pytest.raises(ConfigError, match=r"sweep\.grid\.coupling"):
        compose_config(["+sweep=autapse", "+sweep.grid.coupling=[0.5]"])


def test_a_grid_without_a_required_parameter_is_refused():
    with pytest.raises(ConfigError, match=r"sweep\.grid\.lam is missing"):
        compose_config(["+sweep=autapse", "~sweep.grid.lam"])


def test_no_sweep_chosen_is_refused_with_a_hint():
    with pytest.raises(ConfigError, match=r"\+sweep=NAME"):
        compose_config([])


def test_conf_has_the_expected_groups():
    assert {"sweep", "network", "cluster"} <= {p.name for p in Path(CONF).iterdir() if p.is_dir()}
    assert "autapse" in SWEEPS
