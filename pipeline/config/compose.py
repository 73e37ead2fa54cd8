"""Hydra's side of the config: grid resolvers, the schemas in its ConfigStore, composing.

``python -m pipeline`` composes ``conf/config.yaml`` with the chosen
``+sweep=NAME`` and the command line; :func:`load_config` turns the result
into the validated dataclasses of :mod:`pipeline.config.schema`, once, at the
entry point.  :func:`compose_config` does the same without a Hydra app, for
tests, benchmarks and notebooks.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    InterpolationResolutionError,
)

from pipeline.adapters import hydra as hydra_adapter
from pipeline.config.schema import (
    AutapseNetwork,
    AutapsePairNetwork,
    ClusterConfig,
    Config,
    ConfigError,
    DistributedCluster,
    FeedforwardNetwork,
    MatrixNetwork,
    NetworkConfig,
    NonsymmetricNetwork,
    PairNetwork,
    SlurmCluster,
    SolverConfig,
    SpectrumNetwork,
    TrackingConfig,
)
from pipeline.extensions import load_extensions

CONF = Path(__file__).resolve().parents[2] / "conf"
"""The config directory of the checkout, as ``python -m pipeline`` reads it."""


def _grid_range(kind: str, start: Any, stop: Any, num: Any) -> list[float]:
    """Values of a ``${linspace:start,stop,num}`` or ``${geomspace:...}`` grid."""
    try:
        start, stop, num = float(start), float(stop), int(num)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"${{{kind}:start,stop,num}} needs two numbers and a whole count, "
            f"got {kind}:{start},{stop},{num}"
        ) from err
    if num < 1:
        raise ConfigError(f"${{{kind}:...}} needs num >= 1, got num={num}")
    if kind == "linspace":
        return linspace(start, stop, num)
    if start == 0 or stop == 0 or (start < 0) != (stop < 0):
        raise ConfigError(
            f"${{geomspace:start,stop,num}} needs start and stop of one sign and not 0, "
            f"got geomspace:{start},{stop},{num}"
        )
    return geomspace(start, stop, num)


def linspace(start: float, stop: float, num: int) -> list[float]:
    """``start + k (stop - start) / (num - 1)`` for ``k = 0 .. num - 1``, each rounded once.

    The sum is taken exactly on the decimals as written (``0.01`` is 1/100,
    not the float nearest it) and only its result rounded to a float, so
    ``${linspace:0.01,0.05,5}`` holds 0.02, which ``.sel(tau=0.02)`` finds;
    numpy's ``linspace`` gives 0.020000000000000004, the sum of two roundings.
    """
    if num == 1:
        return [float(start)]
    first, last = Fraction(repr(float(start))), Fraction(repr(float(stop)))
    return [float(first + (last - first) * k / (num - 1)) for k in range(num)]


def geomspace(start: float, stop: float, num: int) -> list[float]:
    """``start (stop / start)^(k / (num - 1))``, ends exactly as written.

    The powers are irrational in general, so each interior value is numpy's,
    or the shortest decimal within :data:`GRID_ULPS` units in the last place
    of it where one exists: ``${geomspace:0.001,1,4}`` holds 0.01 and 0.1,
    as a user would write them and ``.sel`` finds them.
    """
    values = [float(x) for x in np.geomspace(start, stop, num)]
    interior = [_round_decimal(value) for value in values[1:-1]]
    return [float(start), *interior, float(stop)] if num > 1 else [float(start)]


GRID_ULPS = 4
"""How far (in units in the last place) a computed grid value may move to a shorter decimal."""


def _round_decimal(value: float) -> float:
    """The decimal of fewest significant digits (up to 12) within GRID_ULPS ulps of ``value``."""
    allowed = GRID_ULPS * math.ulp(value)
    for digits in range(1, 13):
        rounded = float(f"{value:.{digits}g}")
        if abs(rounded - value) <= allowed:
            return rounded
    return value


def _numbers(text: str) -> list[float]:
    """The numbers of a ``${numbers:'a b c'}`` list (:func:`compact_lists`)."""
    return [float(item) for item in text.split()]


def register_resolvers() -> None:
    """Let YAML and the command line give a grid as ``${linspace:start,stop,num}``.

    Also ``${numbers:'a b c'}``, the form :func:`compact_lists` gives a long list.
    """
    for kind in ("linspace", "geomspace"):
        if not OmegaConf.has_resolver(kind):
            OmegaConf.register_new_resolver(
                kind, lambda start, stop, num, kind=kind: _grid_range(kind, start, stop, num)
            )
    if not OmegaConf.has_resolver("numbers"):
        OmegaConf.register_new_resolver("numbers", _numbers)


LONG_LIST = 64
"""Lists of at least this many numbers on the command line are compacted."""

_LIST = re.compile(r"^(?P<key>[^=\s'\"]+)=\[(?P<items>[^\[\]'\"$]*)\]$")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def compact_lists(overrides: Sequence[str]) -> list[str]:
    """``KEY=[a,b,...]`` of many numbers as ``KEY=${numbers:'a b ...'}``, the same values.

    Hydra's override parser takes time quadratic in a list's length, which a
    sweep of thousands of values feels; one quoted string is read in linear
    time, and the ``numbers`` resolver turns it back into the list.
    """
    compacted = []
    for override in overrides:
        match = _LIST.match(override)
        items = match["items"].split(",") if match else []
        if len(items) >= LONG_LIST and all(_is_number(item) for item in items):
            override = f"{match['key']}=${{numbers:'{' '.join(i.strip() for i in items)}'}}"
        compacted.append(override)
    return compacted


SCHEMAS: dict[str, type] = {
    "base_config": Config,
    "schema_network": NetworkConfig,
    "schema_network_autapse": AutapseNetwork,
    "schema_network_pair": PairNetwork,
    "schema_network_autapse_pair": AutapsePairNetwork,
    "schema_network_spectrum": SpectrumNetwork,
    "schema_network_feedforward": FeedforwardNetwork,
    "schema_network_nonsymmetric": NonsymmetricNetwork,
    "schema_network_matrix": MatrixNetwork,
    "schema_solver": SolverConfig,
    "schema_cluster": ClusterConfig,
    "schema_cluster_distributed": DistributedCluster,
    "schema_cluster_slurm": SlurmCluster,
    "schema_tracking": TrackingConfig,
}
"""Every schema the YAML files extend, by name.

They are stored outside every config group, so that neither ``--help`` nor
Hydra's suggestions offer them as choices (``network=schema_network`` is no
network): a file in ``conf/network/`` extends one by its absolute path,
``defaults: [/schema_network_pair@_here_]``.  ``schema_network`` has no
settings of its own: a network kind that needs none (one added by another
package, say) extends it with ``kind: NAME``.
"""


def store_schemas() -> None:
    """Register :data:`SCHEMAS` in Hydra's ConfigStore, after every extension's own."""
    load_extensions()
    store = ConfigStore.instance()
    for name, node in SCHEMAS.items():
        store.store(name=name, node=node)


def _keys(node: DictConfig, prefix: str = "") -> Iterator[tuple[str, bool]]:
    """Every dotted key of ``node``, each with whether its schema declares it.

    A node typed by a schema dataclass knows its fields; one typed as a plain
    mapping (``sweep.grid``, ``store.storage_options``) takes any key, and
    what it holds is checked where it is read.
    """
    schema = OmegaConf.get_type(node)
    if not dataclasses.is_dataclass(schema):
        return
    declared = {f.name for f in dataclasses.fields(schema)}
    for key in node.keys():
        path = f"{prefix}{key}"
        yield path, key in declared
        # A value still to be given (???) or taken from elsewhere (${...}) is no section.
        settled = not (OmegaConf.is_missing(node, key) or OmegaConf.is_interpolation(node, key))
        if key in declared and settled:
            child = node[key]
            if isinstance(child, DictConfig):
                yield from _keys(child, f"{path}.")


def check_known_keys(cfg: DictConfig) -> None:
    """Refuse a key that no schema declares, naming the closest one that is.

    Hydra adds any key given as ``+key=value``, and converting to the
    dataclasses drops it unread, so a typo would run with its default.
    """
    keys = dict(_keys(cfg))
    for key, known in keys.items():
        if not known:
            raise ConfigError(_refusal(key, [k for k, ok in keys.items() if ok]))


def unknown_key_message(err: BaseException | None) -> str | None:
    """The refusal of :func:`check_known_keys` for a key Hydra could not override, or None.

    Without ``+``, Hydra refuses an unknown key itself (``err``, the cause of its
    error) and hints at ``+key=value``; this names the closest known key in the
    section of the config that refused it, as the refusal of a ``+key`` does.
    """
    parent = getattr(err, "parent_node", None)
    if not isinstance(err, ConfigKeyError | ConfigAttributeError) or not isinstance(
        parent, DictConfig
    ):
        return None
    key = str(err.full_key)
    section = key.rpartition(".")[0]
    known = [k for k, ok in _keys(parent, f"{section}." if section else "") if ok]
    return _refusal(key, known) if known else None


def _refusal(key: str, known: Sequence[str]) -> str:
    """That the dotted ``key`` is unknown, with a hint: the known key whose last part is
    closest, in the same section first, then in any; else the section's keys."""
    return f"{key} is not a config key ({_closest(key, known)}); nothing was written"


def _closest(key: str, known: Sequence[str]) -> str:
    section, _, name = key.rpartition(".")
    siblings = {k.rpartition(".")[2]: k for k in known if k.rpartition(".")[0] == section}
    anywhere = {k.rpartition(".")[2]: k for k in reversed(known)}
    for names in (siblings, anywhere):
        closest = difflib.get_close_matches(name, list(names), n=1)
        if closest:
            return f"did you mean {names[closest[0]]}?"
    return f"{section or 'the config'} takes {', '.join(siblings)}"


def _config_error_within(err: BaseException) -> ConfigError | None:
    """The ConfigError a resolver raised, which OmegaConf chains behind its own errors."""
    seen: BaseException | None = err
    while seen is not None and not isinstance(seen, ConfigError):
        seen = seen.__cause__ or seen.__context__
    return seen


def load_config(cfg: DictConfig) -> Config:
    """Turn Hydra's composed config into validated dataclasses (the only conversion)."""
    if OmegaConf.is_missing(cfg, "sweep"):
        raise ConfigError(
            "no sweep chosen: add +sweep=NAME (for example +sweep=autapse); "
            "the sweeps are the files in conf/sweep/"
        )
    load_extensions()
    check_known_keys(cfg)
    try:
        config = OmegaConf.to_object(cfg)
    except InterpolationResolutionError as err:
        # A refused ${linspace:...} or ${geomspace:...}: say it by key, not by traceback.
        refused = _config_error_within(err)
        if refused is None:
            raise
        raise ConfigError(f"{err.full_key}: {refused}") from None
    assert isinstance(config, Config)
    return config


PRIMARY = "config"
"""The primary config of ``python -m pipeline``: ``conf/config.yaml``."""


def skip_mode_composition(argv: Sequence[str]) -> bool:
    """Spare Hydra composing the whole config only to read ``hydra.mode``.

    No file of ``conf/`` sets ``hydra.mode``
    (``tests/pipeline/config/test_run_mode.py`` composes every sweep, cluster
    and tracking option), so Hydra's answer for :data:`PRIMARY` is None unless
    ``argv`` could change it; :func:`pipeline.adapters.hydra.skip_mode_composition`
    gives that answer without the composition, where the adapter takes its fast path.

    Returns whether it does.
    """
    return hydra_adapter.skip_mode_composition(PRIMARY, argv)


def compose_config(overrides: Sequence[str] = ()) -> Config:
    """The validated config that ``python -m pipeline OVERRIDES`` would run.

    For tests, benchmarks and notebooks: no Hydra app, no output directory.
    """
    from hydra import compose, initialize_config_dir

    register_resolvers()
    store_schemas()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return load_config(compose(config_name=PRIMARY, overrides=compact_lists(overrides)))
