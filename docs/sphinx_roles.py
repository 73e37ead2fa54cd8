"""A griffe extension: the docstrings' Sphinx roles as cross-references the strict build checks.

The docstrings refer to code as reST does (``:func:`pipeline.model.modes.eigenmodes```,
``:data:`JUMP```). mkdocstrings renders Markdown, so each role becomes an
autorefs link (``[`eigenmodes`][pipeline.model.modes.eigenmodes]``) to the
object it names: a full path of this project, or a name resolved from the
docstring's module or class. ``mkdocs build --strict`` fails where such a link
has no target, so a docstring that names a function that no longer exists
breaks the build. Names outside the project (``xarray.open_zarr``) and
private ones (``_move``), which the reference does not render, stay code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|data|class|mod|meth|attr|exc|obj):`~?\.?([\w.]+)`")
PACKAGES = ("pipeline", "analysis")


def _find(loader: griffe.GriffeLoader, path: str) -> griffe.Object | griffe.Alias | None:
    try:
        return loader.modules_collection.get_member(path)
    except (KeyError, ValueError, AttributeError, griffe.AliasResolutionError):
        return None


def _target(obj: griffe.Object, name: str, loader: griffe.GriffeLoader) -> str | None:
    """The path the role ``name`` in ``obj``'s docstring refers to, or None to leave it code."""
    if name.split(".")[-1].startswith("_"):
        return None
    if name.split(".")[0] in PACKAGES:
        found = _find(loader, name)
        if found is None:
            return name  # a full path of this project that does not exist: the build fails
    else:
        scope: griffe.Object | None = obj
        found = None
        while scope is not None and found is None:
            found = _find(loader, f"{scope.path}.{name}")
            scope = scope.parent
        if found is None:
            return None
    if isinstance(found, griffe.Alias):
        try:
            found = found.final_target
        except griffe.AliasResolutionError:
            return None
    if found.docstring is None and not found.is_module:
        return None  # not rendered (no docstring), so there is nothing to link to
    return found.path


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring's Sphinx roles once the object tree is complete."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        rewrite(obj, loader)

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        rewrite(pkg, loader)  # the top-level package gets no on_object


def rewrite(obj: griffe.Object, loader: griffe.GriffeLoader) -> None:
    """Replace the roles of ``obj``'s docstring by links (or code, where there is no target)."""
    if obj.docstring is None:
        return

    def link(match: re.Match) -> str:
        name = match.group(1)
        path = _target(obj, name, loader)
        return f"[`{name}`][{path}]" if path else f"`{name}`"

    obj.docstring.value = ROLE.sub(link, obj.docstring.value)
