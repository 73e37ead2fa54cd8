"""Hydra's run mode given without the composition Hydra makes only to learn it.

Before it runs, Hydra 1.3 composes the whole config once in ``Hydra.get_mode``
(``hydra._internal.hydra``, a private module) to read ``hydra.mode``, and then
again to run.  Where the caller knows that its configs leave ``hydra.mode``
unset, Hydra's answer is None, and Hydra then takes the mode from ``-m``:
:func:`skip_mode_composition` gives that answer without the first
composition, unless the command line could change it.  What that spares is
measured in ``benchmarks/README.md``.

Fallback, chosen at import (:data:`FAST`): where the switch of
:mod:`pipeline.adapters` is ``off``, or Hydra has no ``Hydra.get_mode``,
nothing is patched and Hydra composes twice, as its public API does.  The
config, the mode and the run are the same either way.

Upstream: Hydra's issue #3440, "hydra.mode discovery composes the config
twice on every invocation" (open; its pull request #3441 was closed
unmerged).  Once Hydra reads the mode without a full composition, this
module can go.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hydra._internal.hydra import Hydra

from pipeline.adapters import fast_paths_allowed

FAST = fast_paths_allowed() and callable(getattr(Hydra, "get_mode", None))
"""Whether :func:`skip_mode_composition` patches ``Hydra.get_mode``: the switch allows
it and this Hydra has the method it replaces."""

CONFIG_FLAGS = ("-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir")
"""Hydra's flags that choose another primary config or config directory."""


def could_set_mode(override: str) -> bool:
    """Whether a command-line override could set ``hydra.mode``: the key itself, another
    config search path, or a config of a ``hydra/`` group (a plugin's)."""
    key = override.lstrip("+~").partition("=")[0]
    return key == "hydra.mode" or key.startswith(("hydra.searchpath", "hydra/"))


def skip_mode_composition(primary: str, argv: Sequence[str]) -> bool:
    """Have Hydra learn that ``hydra.mode`` is unset without composing ``primary`` for it.

    Call only where no config that ``primary`` can compose sets ``hydra.mode``.
    ``Hydra.get_mode`` then answers None for ``primary`` unless an override
    could set the mode (:func:`could_set_mode`), and asks Hydra's own method
    otherwise.  Nothing is patched where ``argv`` chooses another primary
    config or config directory (:data:`CONFIG_FLAGS`), or on the fallback.

    Returns whether ``Hydra.get_mode`` was patched.
    """
    if not FAST or any(arg.partition("=")[0] in CONFIG_FLAGS for arg in argv):
        return False
    asks: Callable[..., Any] = Hydra.get_mode

    def get_mode(self: Hydra, config_name: str | None, overrides: list[str]) -> Any:
        if config_name == primary and not any(could_set_mode(o) for o in overrides):
            return None
        return asks(self, config_name, overrides)

    Hydra.get_mode = get_mode  # type: ignore[method-assign]
    return True
