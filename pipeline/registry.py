"""Tables of extension points by name, which refuse a taken name and an object of the wrong type.

Network kinds, solvers, theory checks and report figures are each looked up
by name in a :class:`Registry`.  Reading one is reading a mapping
(``name in NETWORKS``, ``NETWORKS[name]``, ``sorted(NETWORKS)``); adding to
one goes through :meth:`Registry.register`, which records the module that
registered each name.  A name is registered once: a package loaded through
:mod:`pipeline.extensions` cannot replace a built-in, or another package's
entry, without an error that names both modules.
"""

from __future__ import annotations

import importlib.metadata
import inspect
from collections.abc import Hashable, Iterator, Mapping
from typing import Generic, TypeVar

from pipeline.extensions import GROUP

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RegistryError(ValueError):
    """A name registered a second time."""


def package_of(module: str) -> str:
    """``module`` and the distributions that install it, if any: ``toy_scenario (toy-scenario)``.

    A distribution installs a module if its file list holds it, or if one of
    its :data:`pipeline.extensions.GROUP` entry points names it.
    """
    top = module.partition(".")[0]
    names = set(importlib.metadata.packages_distributions().get(top, []))
    for entry in importlib.metadata.entry_points(group=GROUP):
        if entry.module.partition(".")[0] == top and entry.dist is not None:
            names.add(entry.dist.name)
    return f"{module} ({', '.join(sorted(names))})" if names else module


def _caller_module(depth: int) -> str:
    """``__name__`` of the module whose code is ``depth`` frames above this function's caller."""
    frame = inspect.currentframe()
    for _ in range(depth + 1):
        frame = frame.f_back if frame is not None else None
    return "?" if frame is None else str(frame.f_globals.get("__name__", "?"))


class Registry(Mapping[K, V], Generic[K, V]):
    """Entries of one kind by name; each name registered once, by one module.

    ``what`` names an entry in messages (``"network kind"``); ``kind`` is the
    type every entry must be an instance of (``collections.abc.Callable`` for
    any callable).  ``entries`` are registered in order, as by the module
    that creates the registry.
    """

    def __init__(self, what: str, kind: type, entries: Mapping[K, V] | None = None) -> None:
        self.what = what
        self.kind = kind
        self._entries: dict[K, V] = {}
        self._modules: dict[K, str] = {}
        for name, obj in (entries or {}).items():
            self._add(name, obj, _caller_module(1))

    def register(self, name: K, obj: V, *, module: str | None = None) -> V:
        """Add ``obj`` under ``name``, registered by ``module`` (default: the caller's); return it.

        Raises :class:`RegistryError` if ``name`` is taken, naming the module
        that registered it, and :class:`TypeError` if ``obj`` is not a ``kind``.
        """
        return self._add(name, obj, module or _caller_module(1))

    def __setitem__(self, name: K, obj: V) -> None:
        """``registry[name] = obj``: :meth:`register`, with the same refusals."""
        self._add(name, obj, _caller_module(1))

    def __delitem__(self, name: K) -> None:
        """Refused: a package could otherwise remove an entry and register its own."""
        raise TypeError(f"{self.what} {name!r} cannot be removed from its registry")

    def registrant(self, name: K) -> str:
        """The module that registered ``name``."""
        if name not in self._modules:
            raise KeyError(name)
        return self._modules[name]

    def _add(self, name: K, obj: V, module: str) -> V:
        if not isinstance(obj, self.kind):
            raise TypeError(
                f"{self.what} {name!r} from {module} must be a {self.kind.__name__}, "
                f"got {type(obj).__name__}: {obj!r}"
            )
        if name in self._entries:
            raise RegistryError(
                f"{self.what} {name!r} is already registered by {package_of(self._modules[name])}; "
                f"{package_of(module)} cannot register it again: choose another name"
            )
        self._entries[name] = obj
        self._modules[name] = module
        return obj

    def __getitem__(self, name: K) -> V:
        return self._entries[name]

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {self.kind.__name__}, {sorted(self._entries, key=repr)})"
