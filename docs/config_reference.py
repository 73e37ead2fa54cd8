"""The configuration reference, generated from the schema and the YAML files of ``conf/``.

Every key is read off the dataclasses of :mod:`pipeline.config.schema` (its
type and default) and explained by the attribute docstring that follows it
there or, failing that, by the comment after the key in the group's YAML file
(``conf/cluster/slurm.yaml``, ...).  A text that starts with a unit and a
semicolon (``s; rest before the step``) gives the unit column.  Nothing here
is typed twice: a key added to the schema appears in the reference, and
:func:`undocumented` names every key that has neither docstring nor comment.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import typing
from pathlib import Path
from typing import Any

import yaml
from omegaconf import MISSING

from pipeline.config import compose, schema

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "conf"
UNITS = ("s", "Hz", "MB")
"""Units a docstring or comment may start with (``s; ...``)."""
GROUPS = ("network", "solver", "cluster", "tracking")
"""Config groups of ``conf/``: one option per YAML file, each extending a schema."""
SECTIONS = {
    "sweep": "What is swept; each sweep file of `conf/sweep/` sets it (see the scenario pages).",
    "stimulus": "The step input. Each sweep file sets its own times.",
    "record": "The recorded time grid.",
    "analysis": "The theory check.",
    "store": "The Zarr store. A store keeps the chunking, dtype and recording it was made with.",
    "catalog": "The run catalog (SQLite).",
}


def attribute_docs(cls: type) -> dict[str, str]:
    """The docstring after each field of ``cls`` and its bases in ``schema.py``."""
    tree = ast.parse(Path(schema.__file__).read_text(encoding="utf-8"))
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        node = classes.get(klass.__name__)
        if node is None:
            continue
        body = node.body
        for field, after in zip(body, [*body[1:], None], strict=True):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[field.target.id] = " ".join(after.value.value.split())
    return docs


def yaml_comments(path: Path) -> tuple[str, dict[str, str]]:
    """The header comment of a YAML file of ``conf/`` and the comment after each top-level key.

    A comment line indented under a key's comment continues it.
    """
    header: list[str] = []
    comments: dict[str, str] = {}
    last = top = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and not comments and last is None:
            text = line.lstrip("#").strip()
            if text != "@package _global_":
                header.append(text)
            continue
        match = re.match(r"^(\w+):.*?\s#\s?(.*)$", line)
        nested = re.match(r"^\s+(\w+):.*?\s#\s?(.*)$", line)
        if match:
            last = top = match.group(1)
            comments[last] = match.group(2).strip()
        elif nested and top:  # a key of a section (finish: walltime: ...) as "finish.walltime"
            last = f"{top}.{nested.group(1)}"
            comments[last] = nested.group(2).strip()
        elif last and re.match(r"^\s+#", line):
            comments[last] += " " + line.strip().lstrip("#").strip()
        elif re.match(r"^\w+:", line):
            last = line.split(":")[0]
    return " ".join(header), comments


def markdown(text: str) -> str:
    """A docstring's reST as Markdown: double backticks, and cross-references as autorefs."""
    text = text.replace("``", "`")

    def reference(match: re.Match) -> str:
        name = match.group(1).lstrip("~")
        full = name if "." in name else f"pipeline.config.schema.{name}"
        return f"[`{name}`][{full}]"

    parts = text.split("`")
    for i in range(0, len(parts), 2):  # outside code spans, brackets are text, not links
        parts[i] = parts[i].replace("[", "\\[").replace("]", "\\]")
    text = "`".join(parts)
    text = re.sub(r":(?:func|data|class|mod|meth|attr):`([^`]+)`", reference, text)
    return text.replace("|", "\\|")


def value_text(value: Any) -> str:
    """A default as the command line would write it."""
    if value is MISSING:
        return "required"
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | dict):
        return f"`{json.dumps(value).replace(' ', '')}`"
    return f"`{value}`"


def split_unit(text: str) -> tuple[str, str]:
    """``("s", "rest before the step")`` from ``"s; rest before the step"``."""
    head, sep, rest = text.partition("; ")
    if sep and head in UNITS:
        return head, rest
    return "", text


def rows(cls: type, prefix: str, yaml_file: Path | None = None) -> list[tuple[str, ...]]:
    """(key, default, unit, why) of every field of ``cls``; defaults from ``yaml_file`` first."""
    docs = attribute_docs(cls)
    values: dict[str, Any] = {}
    comments: dict[str, str] = {}
    if yaml_file is not None:
        values = yaml.safe_load(yaml_file.read_text(encoding="utf-8")) or {}
        comments = yaml_comments(yaml_file)[1]
    table = []
    for field in dataclasses.fields(cls):
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = MISSING
        default = values.get(field.name, default)
        unit, why = split_unit(docs.get(field.name) or comments.get(field.name, ""))
        section = field.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(
            field.default_factory()
        )
        shown = "" if section else value_text(default)  # a section: its keys follow
        table.append((f"`{prefix}.{field.name}`", shown, unit, markdown(why)))
        if section:
            table += _section_rows(field, f"{prefix}.{field.name}", default, comments)
    return table


def _section_rows(
    field: dataclasses.Field, key: str, default: Any, comments: dict[str, str]
) -> list[tuple[str, ...]]:
    """(key, default, unit, why) of each field of a section of the config (``cluster.finish``):
    its YAML comment (``finish.walltime``), else its docstring."""
    section = field.default_factory()  # type: ignore[misc]
    docs = attribute_docs(type(section))
    values = default if isinstance(default, dict) else {}
    name = key.split(".", 1)[1]
    rows_ = []
    for inner in dataclasses.fields(section):
        value = values.get(inner.name, getattr(section, inner.name))
        text = comments.get(f"{name}.{inner.name}") or docs.get(inner.name, "")
        unit, why = split_unit(text)
        rows_.append((f"`{key}.{inner.name}`", value_text(value), unit, markdown(why)))
    return rows_


def table(entries: list[tuple[str, ...]]) -> list[str]:
    lines = ["| key | default | unit | what it does, and why |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(entry) + " |" for entry in entries]
    return lines


def group_schema(path: Path) -> type:
    """The schema a YAML file of a config group extends (its ``/schema_...@_here_`` default)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in data.get("defaults", []):
        if isinstance(entry, str) and entry.startswith("/schema_"):
            return compose.SCHEMAS[entry[1:].split("@")[0]]
    raise ValueError(f"{path} extends no schema of pipeline.config.compose.SCHEMAS")


def reference() -> str:
    """The whole reference page body, in Markdown."""
    lines: list[str] = []
    config_fields = {field.name: field for field in dataclasses.fields(schema.Config)}
    top_docs = attribute_docs(schema.Config)
    hints = typing.get_type_hints(schema.Config)
    for name in config_fields:
        if name in GROUPS:
            lines += [f"## `{name}`", ""]
            lines += [
                f"Chosen with `{name}=OPTION` (the files of `conf/{name}/`); "
                "the default option is marked in `conf/config.yaml`.",
                "",
            ]
            for path in sorted((CONF / name).glob("*.yaml")):
                header, _ = yaml_comments(path)
                lines += [f"### `{name}={path.stem}`", "", markdown(header), ""]
                lines += [*table(rows(group_schema(path), name, path)), ""]
        elif name in SECTIONS:
            lines += [f"## `{name}`", "", SECTIONS[name], ""]
            lines += [*table(rows(hints[name], name)), ""]
    lines += ["## Top-level keys", ""]
    extra = [
        (f"`{name}`", value_text(field.default), "", markdown(top_docs.get(name, "")))
        for name, field in config_fields.items()
        if name not in SECTIONS and name not in GROUPS
    ]
    lines += [*table(extra), ""]
    return "\n".join(lines)


def undocumented() -> list[str]:
    """Keys of the reference whose explanation is empty: each needs a docstring in the schema."""
    return [
        line.split("|")[1].strip()
        for line in reference().splitlines()
        if line.startswith("| `") and line.rstrip().endswith("|  |")
    ]
