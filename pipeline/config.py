"""Typed configuration: the schemas that every YAML file in ``conf/`` extends.

Hydra composes ``conf/config.yaml`` with the chosen ``+sweep=NAME`` experiment
and command-line overrides into a ``DictConfig`` that OmegaConf type-checks
against these dataclasses (a wrong type or an unknown key fails there, with
the key named).  ``load_config`` then turns it into plain dataclass objects
once, at the entry point; ``__post_init__`` checks the values that types
cannot (``tau > 0``, onset before offset, ...).  Below ``__main__`` no function
sees a ``DictConfig``.

The dataclasses are not ``frozen``: Hydra marks the nodes of frozen
dataclasses read-only, and then neither a sweep file nor the command line
could override them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from pipeline import networks, solvers, sweep


class ConfigError(ValueError):
    """A configuration value that the pipeline refuses, with its key named."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _grid_range(kind: str, start: Any, stop: Any, num: Any) -> list[float]:
    """Values of a ``${linspace:start,stop,num}`` or ``${geomspace:...}`` grid."""
    try:
        start, stop, num = float(start), float(stop), int(num)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"${{{kind}:start,stop,num}} needs two numbers and a whole count, "
            f"got {kind}:{start},{stop},{num}"
        ) from err
    _require(num >= 1, f"${{{kind}:...}} needs num >= 1, got num={num}")
    spacing = np.linspace if kind == "linspace" else np.geomspace
    return [float(x) for x in spacing(start, stop, num)]


def register_resolvers() -> None:
    """Let YAML and the command line give a grid as ``${linspace:start,stop,num}``."""
    for kind in ("linspace", "geomspace"):
        if not OmegaConf.has_resolver(kind):
            OmegaConf.register_new_resolver(
                kind, lambda start, stop, num, kind=kind: _grid_range(kind, start, stop, num)
            )


@dataclass
class SweepConfig:
    """What is swept: each ``grid`` entry becomes one dimension of the store."""

    name: str = MISSING
    grid: dict[str, list[float]] = MISSING

    def __post_init__(self) -> None:
        if self.grid is MISSING or self.name is MISSING:
            return
        _require(bool(self.grid), "sweep.grid is empty: give at least sweep.grid.tau")
        for key, values in self.grid.items():
            sweep.check_axis(f"sweep.grid.{key}", key, values)


@dataclass
class NetworkConfig:
    """Which network is built for each point; subclasses add their own settings."""

    kind: str = MISSING


@dataclass
class AutapseNetwork(NetworkConfig):
    """One neuron that excites (lam > 0) or inhibits (lam < 0) itself: M = [[lam]]."""

    kind: str = "autapse"


@dataclass
class PairNetwork(NetworkConfig):
    """Two neurons with zero diagonal and symmetric coupling: M = [[0, w], [w, 0]]."""

    kind: str = "pair"


@dataclass
class StimulusConfig:
    """A step input: zero, then ``amplitude`` along the network's input direction, then zero."""

    onset: float = 0.05
    offset: float = 0.25
    amplitude: float = 1.0

    def __post_init__(self) -> None:
        _require(
            math.isfinite(self.onset) and self.onset >= 0,
            f"stimulus.onset must be a time >= 0 s, got stimulus.onset={self.onset}",
        )
        _require(
            math.isfinite(self.offset) and self.offset > self.onset,
            f"stimulus.offset must come after stimulus.onset={self.onset}, "
            f"got stimulus.offset={self.offset}",
        )
        _require(
            math.isfinite(self.amplitude),
            f"stimulus.amplitude must be a finite number, got {self.amplitude}",
        )


@dataclass
class RecordConfig:
    """The time grid the user sees; the exact solver does not step on it."""

    duration: float = 0.5
    dt: float = 0.001

    def __post_init__(self) -> None:
        _require(
            math.isfinite(self.dt) and self.dt > 0,
            f"record.dt must be > 0 s, got record.dt={self.dt}",
        )
        _require(
            math.isfinite(self.duration) and self.duration > 0,
            f"record.duration must be > 0 s, got record.duration={self.duration}",
        )
        _require(
            _on_grid(self.duration, self.dt),
            f"record.duration={self.duration} must be a whole number of "
            f"record.dt={self.dt}",
        )

    @property
    def n_samples(self) -> int:
        return round(self.duration / self.dt) + 1

    def times(self) -> np.ndarray:
        """Recording times 0, dt, ..., duration in seconds."""
        return np.linspace(0.0, self.duration, self.n_samples)


@dataclass
class SolverConfig:
    """How trajectories are computed."""

    method: str = "exact"
    divergence_bound: float = 1.0e6

    def __post_init__(self) -> None:
        _require(
            self.method in solvers.SOLVERS,
            f"solver.method must be one of {sorted(solvers.SOLVERS)}, "
            f"got solver.method={self.method!r}",
        )
        _require(
            self.divergence_bound > 0,
            f"solver.divergence_bound must be > 0, got {self.divergence_bound}",
        )


@dataclass
class AnalysisConfig:
    """How measured values are compared with theory."""

    rtol: float = 1.0e-3
    persistence_delay: float = 0.1

    def __post_init__(self) -> None:
        _require(
            0 < self.rtol < 1, f"analysis.rtol must lie in (0, 1), got analysis.rtol={self.rtol}"
        )
        _require(
            math.isfinite(self.persistence_delay) and self.persistence_delay > 0,
            f"analysis.persistence_delay must be > 0 s, "
            f"got analysis.persistence_delay={self.persistence_delay}",
        )


@dataclass
class StoreConfig:
    """Where and how the Zarr store is written."""

    path: str = "results/${sweep.name}.zarr"
    rate_dtype: str = "float64"
    chunk_mb: float = 32.0
    chunk_points: int | None = None
    compressor: str = "lz4"
    compression_level: int = 5
    overwrite: bool = False

    def __post_init__(self) -> None:
        _require(bool(self.path), "store.path must not be empty")
        _require(
            self.rate_dtype in ("float32", "float64"),
            f"store.rate_dtype must be float32 or float64, got store.rate_dtype={self.rate_dtype!r}",
        )
        _require(self.chunk_mb > 0, f"store.chunk_mb must be > 0, got {self.chunk_mb}")
        _require(
            self.chunk_points is None or self.chunk_points >= 1,
            f"store.chunk_points must be >= 1, got {self.chunk_points}",
        )
        _require(
            self.compressor in COMPRESSORS,
            f"store.compressor must be one of {list(COMPRESSORS)}, "
            f"got store.compressor={self.compressor!r}",
        )
        _require(
            0 <= self.compression_level <= 9,
            f"store.compression_level must lie in 0..9 (0: no compression), "
            f"got store.compression_level={self.compression_level}",
        )


COMPRESSORS = ("lz4", "lz4hc", "zstd", "zlib", "blosclz")
"""Blosc codecs a store can use; lz4 keeps pace with the solver, zstd packs tighter."""


@dataclass
class ClusterConfig:
    """Where Dask runs the tasks (see ``conf/cluster/``)."""

    scheduler: str = "threads"
    n_workers: int | None = None

    def __post_init__(self) -> None:
        _require(
            self.scheduler in SCHEDULERS,
            f"cluster.scheduler must be one of {sorted(SCHEDULERS)}, "
            f"got cluster.scheduler={self.scheduler!r}",
        )
        _require(
            self.n_workers is None or self.n_workers >= 1,
            f"cluster.n_workers must be >= 1, got cluster.n_workers={self.n_workers}",
        )


SCHEDULERS = {"threads", "processes", "synchronous", "distributed"}


@dataclass
class Config:
    """The whole resolved configuration of one sweep run."""

    sweep: SweepConfig = MISSING
    network: NetworkConfig = MISSING
    stimulus: StimulusConfig = field(default_factory=StimulusConfig)
    record: RecordConfig = field(default_factory=RecordConfig)
    solver: SolverConfig = field(default_factory=SolverConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)

    def __post_init__(self) -> None:
        if self.sweep is MISSING or self.network is MISSING:
            return
        _check_grid_against_network(self.sweep.grid, self.network.kind)
        dt, end = self.record.dt, self.record.duration
        for key, value in (
            ("stimulus.onset", self.stimulus.onset),
            ("stimulus.offset", self.stimulus.offset),
            ("analysis.persistence_delay", self.analysis.persistence_delay),
        ):
            _require(
                _on_grid(value, dt),
                f"{key}={value} must be a whole number of record.dt={dt}, "
                "so that the analysis reads it off a recorded sample",
            )
        _require(
            self.stimulus.offset + self.analysis.persistence_delay <= end + 1e-9 * dt,
            f"record.duration={end} ends before stimulus.offset + analysis.persistence_delay "
            f"= {self.stimulus.offset + self.analysis.persistence_delay}",
        )


def _on_grid(value: float, dt: float) -> bool:
    steps = value / dt
    return abs(steps - round(steps)) <= 1e-6


def _check_grid_against_network(grid: dict[str, list[float]], kind: str) -> None:
    _require(
        kind in networks.NETWORKS,
        f"network.kind={kind!r} is not a known network (known: {sorted(networks.NETWORKS)})",
    )
    spec = networks.NETWORKS[kind]
    required = {"tau", *spec.parameters}
    allowed = required | set(spec.optional) | set(sweep.STIMULUS_PARAMETERS)
    for key in required - set(grid):
        raise ConfigError(
            f"sweep.grid.{key} is missing: network {kind!r} needs values for "
            f"{', '.join(sorted(required))}"
        )
    for key in set(grid) - allowed:
        raise ConfigError(
            f"sweep.grid.{key} is not a parameter of network {kind!r} "
            f"(it takes {', '.join(sorted(allowed))})"
        )


def store_schemas() -> None:
    """Register the schemas in Hydra's ConfigStore as ``base_*`` entries."""
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    cs.store(group="network", name="base_autapse", node=AutapseNetwork)
    cs.store(group="network", name="base_pair", node=PairNetwork)
    cs.store(group="cluster", name="base_cluster", node=ClusterConfig)


def load_config(cfg: DictConfig) -> Config:
    """Turn Hydra's composed config into validated dataclasses (the only conversion)."""
    if OmegaConf.is_missing(cfg, "sweep"):
        raise ConfigError(
            "no sweep chosen: add +sweep=NAME (for example +sweep=autapse); "
            "the sweeps are the files in conf/sweep/"
        )
    config = OmegaConf.to_object(cfg)
    assert isinstance(config, Config)
    return config


def resolved_yaml(cfg: DictConfig) -> str:
    """The fully resolved configuration as YAML, for the store and the run catalog."""
    return OmegaConf.to_yaml(cfg, resolve=True)
