"""The registries of network kinds, solvers, checks and figures: a name once, of the right type."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import analysis.checks
import analysis.report
from analysis.checks import CHECKS, Check
from analysis.report import SCENARIO_FIGURES
from pipeline.model.networks import NETWORKS, NetworkKind, autapse
from pipeline.model.solvers import SOLVERS, Solver
from pipeline.model.solvers.exact import exact_rate
from pipeline.registry import Registry, RegistryError

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "tests" / "e2e" / "toy_scenario"

# Each built-in registry, a name it holds, the module that registered it, and an
# object of the right type to try to register under that name again.
BUILT_IN = {
    "networks": (
        NETWORKS,
        "autapse",
        "pipeline.model.networks",
        NetworkKind(build=autapse, parameters=("lam",)),
    ),
    "solvers": (SOLVERS, "exact", "pipeline.model.solvers", Solver(exact_rate)),
    "checks": (CHECKS, "pair", "analysis.checks", Check(print, quantities=("gain",))),
    "figures": (SCENARIO_FIGURES, ("pair", "pair"), "analysis.report", print),
}
WRONG_TYPE = {
    "networks": (NETWORKS, "ring", autapse),  # the builder, not a NetworkKind
    "solvers": (SOLVERS, "euler", exact_rate),  # the function, not a Solver
    "checks": (CHECKS, "ring", analysis.checks.run_check),
    "figures": (SCENARIO_FIGURES, ("ring", "linear_modes"), "figures.png"),
}


def test_a_registry_reads_as_a_mapping_in_registration_order():
    registry = Registry("number", int, {"one": 1, "two": 2})
    registry.register("three", 3)
    assert list(registry) == ["one", "two", "three"]
    assert sorted(registry) == ["one", "three", "two"]
    assert "two" in registry and "four" not in registry
    assert registry["three"] == 3 and registry.get("four") is None and len(registry) == 3
    with pytest.raises(KeyError):
        registry["four"]


def test_a_taken_name_is_refused_naming_the_module_that_registered_it():
    """The second registration raises, names the first registrant, and changes nothing."""
    registry = Registry("number", int)
    registry.register("one", 1, module="first_package.numbers")
    with pytest.raises(RegistryError, match=r"number 'one' is already registered by first_package"):
        registry.register("one", 11, module="second_package")
    with pytest.raises(RegistryError, match=r"first_package\.numbers"):
        registry["one"] = 11
    assert registry["one"] == 1
    assert registry.registrant("one") == "first_package.numbers"


def test_an_entry_of_the_wrong_type_is_refused():
    registry = Registry("number", int)
    with pytest.raises(TypeError, match=r"number 'one' from \S+ must be a int, got str: '1'"):
        registry.register("one", "1")
    with pytest.raises(TypeError):
        registry["one"] = 1.0
    assert "one" not in registry


def test_the_registrant_is_the_module_whose_code_registers():
    """By the constructor, ``register`` and item assignment alike: this test module."""
    registry = Registry("number", int, {"one": 1})
    registry.register("two", 2)
    registry["three"] = 3
    assert {registry.registrant(name) for name in registry} == {__name__}
    with pytest.raises(KeyError):
        registry.registrant("four")


@pytest.mark.parametrize("which", sorted(BUILT_IN))
def test_a_built_in_name_cannot_be_registered_again(which: str):
    """Nor replaced by item assignment, nor deleted: the built-in stays."""
    registry, name, module, other = BUILT_IN[which]
    before = registry[name]
    with pytest.raises(RegistryError, match=f"already registered by {module}"):
        registry.register(name, other)
    with pytest.raises(RegistryError, match=f"already registered by {module}"):
        registry[name] = other
    with pytest.raises(TypeError):
        del registry[name]
    assert registry[name] is before
    assert registry.registrant(name) == module


@pytest.mark.parametrize("which", sorted(WRONG_TYPE))
def test_each_registry_refuses_an_entry_of_the_wrong_type(which: str):
    registry, name, obj = WRONG_TYPE[which]
    with pytest.raises(TypeError, match=f"must be a {registry.kind.__name__}"):
        registry.register(name, obj)
    assert name not in registry


def test_every_network_and_solver_of_conf_is_registered_with_checks_that_are():
    networks = {path.stem for path in (ROOT / "conf" / "network").glob("*.yaml")}
    solvers = {path.stem for path in (ROOT / "conf" / "solver").glob("*.yaml")}
    assert networks and networks == set(NETWORKS)
    assert solvers and solvers == set(SOLVERS)
    for kind in NETWORKS.values():
        assert set(kind.checks) <= set(CHECKS)


def _modules(package) -> list:
    return [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
    ]


def test_every_check_module_and_every_figures_module_is_registered():
    """Each ``CHECK`` of ``analysis/checks/`` and each scenario's ``figures`` of
    ``analysis/report/`` (all but the generic one) is an entry of its registry,
    whose keys name registered network kinds and checks."""
    checks = [m.CHECK for m in _modules(analysis.checks) if hasattr(m, "CHECK")]
    assert len(checks) >= 9
    assert all(any(c is entry for entry in CHECKS.values()) for c in checks)
    figures = [
        m.figures
        for m in _modules(analysis.report)
        if hasattr(m, "figures") and m.__name__ != "analysis.report.generic"
    ]
    assert len(figures) >= 9
    assert all(any(f is entry for entry in SCENARIO_FIGURES.values()) for f in figures)
    for kind, check in SCENARIO_FIGURES:
        assert kind in NETWORKS and check in CHECKS
        assert isinstance(SCENARIO_FIGURES[kind, check], Callable)


TOY_SCRIPT = """
import importlib, json, numpy as np
from pipeline.extensions import load_extensions
from pipeline.model.networks import NETWORKS
from analysis.checks import CHECKS
from pipeline.registry import RegistryError

loaded = load_extensions()
circuit = NETWORKS["leaky"].build({"leak": np.array([0.25])}, None)
try:
    importlib.reload(importlib.import_module("toy_scenario"))
    again = "registered twice"
except RegistryError as err:
    again = str(err)
print(json.dumps({
    "loaded": loaded,
    "networks": sorted(NETWORKS),
    "checks": sorted(CHECKS),
    "registrant": NETWORKS.registrant("leaky"),
    "weights": circuit.weights.tolist(),
    "again": again,
}))
"""


def test_an_extension_registers_new_names_and_cannot_register_them_twice():
    """Through its entry point the toy package adds ``leaky`` beside the built-ins; its
    module imported a second time is refused, naming the package that registered first."""
    import json

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TOY), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", TOY_SCRIPT], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["loaded"] == ["toy"]
    assert result["networks"] == sorted([*NETWORKS, "leaky"])
    assert result["checks"] == sorted([*CHECKS, "leaky_response"])
    assert result["registrant"] == "toy_scenario"
    np.testing.assert_array_equal(result["weights"], [[[0.75]]])
    assert result["again"] == (
        "network kind 'leaky' is already registered by toy_scenario (toy-scenario); "
        "toy_scenario (toy-scenario) cannot register it again: choose another name"
    )
