"""Hydra's run mode learnt without its extra composition (pipeline/adapters/hydra.py)."""

from __future__ import annotations

import pytest
from fresh_python import run_python
from hydra._internal.hydra import Hydra

from pipeline.adapters import hydra as adapter
from pipeline.config.compose import PRIMARY


@pytest.fixture
def asked(monkeypatch) -> list[str | None]:
    """The config names Hydra's own ``get_mode`` is asked for (a stand-in that records them)."""
    names: list[str | None] = []
    monkeypatch.setattr(Hydra, "get_mode", lambda self, name, overrides: names.append(name))
    return names


def test_hydra_asks_only_where_the_command_line_could_set_the_mode(monkeypatch, asked):
    monkeypatch.setattr(adapter, "FAST", True)
    assert adapter.skip_mode_composition(PRIMARY, ["+sweep=autapse"])
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

    monkeypatch.setattr(adapter, "FAST", True)
    monkeypatch.setattr(Hydra, "get_mode", asks)
    assert not adapter.skip_mode_composition(PRIMARY, ["--config-dir", "elsewhere", "+sweep=a"])
    assert not adapter.skip_mode_composition(PRIMARY, ["-cn=other", "+sweep=autapse"])
    assert Hydra.get_mode is asks


def test_the_fallback_leaves_hydra_as_it_is(monkeypatch, asked):
    """Without the fast path Hydra composes to learn the mode, as its public API does."""
    own = Hydra.get_mode
    monkeypatch.setattr(adapter, "FAST", False)
    assert not adapter.skip_mode_composition(PRIMARY, ["+sweep=autapse"])
    assert Hydra.get_mode is own
    Hydra.get_mode(None, PRIMARY, ["+sweep=autapse"])
    assert asked == [PRIMARY]


@pytest.mark.parametrize(("switch", "patched"), [("off", False), ("", True)])
def test_the_switch_chooses_at_import(switch: str, patched: bool):
    """``RATE_SWEEPS_ADAPTERS=off`` in a fresh interpreter: the CLI's call patches nothing."""
    code = """
        from hydra._internal.hydra import Hydra
        from pipeline.config.compose import skip_mode_composition

        own = Hydra.get_mode
        print(skip_mode_composition(["+sweep=autapse"]), Hydra.get_mode is not own)
    """
    assert run_python(code, switch) == [str(patched), str(patched)]
