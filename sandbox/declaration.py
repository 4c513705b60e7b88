"""A script's declaration, read from its source without running any of it.

A script declares itself in one module-level assignment to ``SCRIPT`` whose value is a
literal (dicts, lists, strings, numbers, booleans, None; nothing computed)::

    SCRIPT = {
        "name": "Gaussian blur",                 # required, 1-100 characters
        "version": "1.0",                        # required, e.g. 1, 1.2.3, 2.0-beta1
        "description": "Blurs each plane.",     # optional, up to 4000 characters
        "authors": ["A. Person"],                # optional, up to 20 names
        "parameters": [                          # optional, up to 50
            {"name": "images", "type": "ids", "of": "Image", "min_items": 1,
             "max_items": 100, "description": "Images to blur"},
            {"name": "sigma", "type": "float", "default": 1.0, "min": 0, "max": 20,
             "group": "Filter"},
            {"name": "mode", "type": "choice", "values": ["reflect", "nearest"]},
            {"name": "colour", "type": "colour", "optional": True},
            {"name": "label", "type": "str", "max_length": 200, "default": "blurred"},
            {"name": "overwrite", "type": "bool", "default": False},
            {"name": "repeats", "type": "int", "default": 1, "min": 1, "max": 10},
        ],
    }

Every parameter has ``name`` (a Python identifier, at most 64 characters) and ``type``,
and may have ``description``, ``group`` (a heading that clients group fields under),
``optional`` and ``default``. A parameter is required unless it is optional or has a
default. The other keys depend on the type:

- ``int``: optional ``min`` and ``max``; the script receives an int.
- ``float``: optional ``min`` and ``max``; a float.
- ``str``: optional ``max_length`` (default 10000); a str.
- ``bool``: a bool.
- ``colour``: a default like ``"#RRGGBB"`` or ``"#RRGGBBAA"``; the script receives
  ``"#RRGGBBAA"`` in upper case (clients may also send an RGBA integer).
- ``choice``: ``values``, a non-empty list of distinct strings or of distinct ints; one
  of them.
- ``ids``: ``of`` (an object type such as ``"Image"``), optional ``min_items`` and
  ``max_items`` (default 1000), no default; a list of global ids like ``"Image:12"``.

:func:`read_declaration` parses the source with :mod:`ast` and evaluates only that
assignment's value with :func:`ast.literal_eval`; anything it cannot accept raises
:class:`DeclarationError` naming the field at fault. :mod:`sandbox.inputs` checks a
client's values against the result.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any

from sandbox.inputs import InputError, coerce

MAX_SOURCE_BYTES = 1024**2
MAX_PARAMETERS = 50
MAX_AUTHORS = 20
MAX_CHOICES = 500
MAX_STR_LENGTH = 100_000
DEFAULT_STR_LENGTH = 10_000
MAX_IDS = 10_000
DEFAULT_MAX_IDS = 1_000
TEXT_LIMITS = {"name": 100, "version": 32, "description": 4000, "author": 200,
               "parameter_description": 1000, "group": 100, "choice": 200}

TYPES = ("int", "float", "str", "bool", "colour", "choice", "ids")
# Kinds of global id a script may take lists of (the ``kind`` of the store's models).
OBJECT_KINDS = ("Project", "Dataset", "Image", "Screen", "Plate", "Well", "Fileset",
                "Roi", "Shape", "Annotation", "OriginalFile", "Experimenter", "Group")
SCRIPT_KEYS = {"name", "version", "description", "authors", "parameters"}
COMMON_KEYS = {"name", "type", "description", "group", "optional", "default"}
TYPE_KEYS = {
    "int": {"min", "max"},
    "float": {"min", "max"},
    "str": {"max_length"},
    "bool": set(),
    "colour": set(),
    "choice": {"values"},
    "ids": {"of", "min_items", "max_items"},
}

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
VERSION_PATTERN = re.compile(r"[0-9][0-9A-Za-z.+-]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class DeclarationError(ValueError):
    """The declaration is unusable; ``field`` is the part at fault, e.g. ``parameters[2].min``."""

    def __init__(self, field: str, message: str, line: int | None = None) -> None:
        self.field = field
        self.message = message
        self.line = line
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"{field}: {message}{where}")


@dataclass(frozen=True)
class Parameter:
    """One declared parameter; fields that do not apply to its type are None."""

    name: str
    type: str
    description: str = ""
    group: str | None = None
    optional: bool = False
    default: Any = None
    min: int | float | None = None
    max: int | float | None = None
    max_length: int | None = None
    values: tuple[str | int, ...] | None = None
    of: str | None = None
    min_items: int | None = None
    max_items: int | None = None

    @property
    def required(self) -> bool:
        return not self.optional and self.default is None


@dataclass(frozen=True)
class ScriptDeclaration:
    name: str
    version: str
    description: str
    authors: tuple[str, ...]
    parameters: tuple[Parameter, ...]

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


def read_declaration(source: str | bytes) -> ScriptDeclaration:
    """Read the ``SCRIPT`` declaration of a script's source; never runs the script."""
    if isinstance(source, bytes):
        if len(source) > MAX_SOURCE_BYTES:
            raise DeclarationError("source", f"larger than {MAX_SOURCE_BYTES} bytes")
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DeclarationError("source", f"not UTF-8 (byte {exc.start})") from None
    elif len(source.encode("utf-8", errors="surrogatepass")) > MAX_SOURCE_BYTES:
        raise DeclarationError("source", f"larger than {MAX_SOURCE_BYTES} bytes")
    node = _find_assignment(source)
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        raise DeclarationError(
            "SCRIPT", "must be a literal (dicts, lists, strings, numbers, True/False/None)",
            node.lineno,
        ) from None
    try:
        return _script(value)
    except DeclarationError as exc:
        raise DeclarationError(exc.field, exc.message, node.lineno) from None


def _find_assignment(source: str) -> ast.expr:
    try:
        module = ast.parse(source, filename="<script>")
    except SyntaxError as exc:
        raise DeclarationError("source", f"syntax error: {exc.msg}", exc.lineno) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise DeclarationError("source", f"cannot be parsed: {exc.__class__.__name__}") from None
    found: list[ast.expr] = []
    for statement in module.body:
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "SCRIPT" for t in targets):
            if len(targets) != 1:
                raise DeclarationError("SCRIPT", "must be assigned on its own",
                                       statement.lineno)
            found.append(value)
    if not found:
        raise DeclarationError("SCRIPT", "no module-level 'SCRIPT = {...}' declaration")
    if len(found) > 1:
        raise DeclarationError("SCRIPT", "declared more than once", found[1].lineno)
    return found[0]


def _text(value: Any, field: str, limit: int, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise DeclarationError(field, "must be a string")
    if not empty and not value.strip():
        raise DeclarationError(field, "must not be empty")
    if len(value) > limit:
        raise DeclarationError(field, f"longer than {limit} characters")
    if _CONTROL.search(value):
        raise DeclarationError(field, "contains control characters")
    return value


def _number(value: Any, field: str, kind: type) -> int | float:
    allowed = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise DeclarationError(field, f"must be {'an integer' if kind is int else 'a number'}")
    if isinstance(value, float) and not math.isfinite(value):
        raise DeclarationError(field, "must be finite")
    return kind(value)  # type: ignore[no-any-return]


def _count(value: Any, field: str, low: int, high: int) -> int:
    number = int(_number(value, field, int))
    if not low <= number <= high:
        raise DeclarationError(field, f"must be between {low} and {high}")
    return number


def _script(value: Any) -> ScriptDeclaration:
    if not isinstance(value, dict):
        raise DeclarationError("SCRIPT", "must be a dict")
    _no_unknown_keys(value, SCRIPT_KEYS, "SCRIPT")
    for key in ("name", "version"):
        if key not in value:
            raise DeclarationError(key, "is required")
    version = _text(value["version"], "version", TEXT_LIMITS["version"], empty=False)
    if not VERSION_PATTERN.fullmatch(version):
        raise DeclarationError("version", "must look like 1, 1.2 or 1.2.3-beta")
    authors = value.get("authors", [])
    if not isinstance(authors, list) or len(authors) > MAX_AUTHORS:
        raise DeclarationError("authors", f"must be a list of at most {MAX_AUTHORS} names")
    raw_parameters = value.get("parameters", [])
    if not isinstance(raw_parameters, list):
        raise DeclarationError("parameters", "must be a list")
    if len(raw_parameters) > MAX_PARAMETERS:
        raise DeclarationError("parameters", f"more than {MAX_PARAMETERS} parameters")
    parameters: list[Parameter] = []
    for index, raw in enumerate(raw_parameters):
        parameter = _parameter(raw, f"parameters[{index}]")
        if any(p.name == parameter.name for p in parameters):
            raise DeclarationError(f"parameters[{index}].name",
                                   f"duplicate parameter name {parameter.name!r}")
        parameters.append(parameter)
    return ScriptDeclaration(
        name=_text(value["name"], "name", TEXT_LIMITS["name"], empty=False).strip(),
        version=version,
        description=_text(value.get("description", ""), "description",
                          TEXT_LIMITS["description"]),
        authors=tuple(_text(a, f"authors[{i}]", TEXT_LIMITS["author"], empty=False)
                      for i, a in enumerate(authors)),
        parameters=tuple(parameters),
    )


def _no_unknown_keys(value: dict[Any, Any], allowed: set[str], field: str) -> None:
    unknown = sorted(str(key) for key in value if key not in allowed)
    if unknown:
        raise DeclarationError(f"{field}.{unknown[0]}",
                               f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _parameter(raw: Any, field: str) -> Parameter:
    if not isinstance(raw, dict):
        raise DeclarationError(field, "must be a dict")
    kind = raw.get("type")
    if kind not in TYPES:
        raise DeclarationError(f"{field}.type", f"must be one of {', '.join(TYPES)}")
    _no_unknown_keys(raw, COMMON_KEYS | TYPE_KEYS[kind], field)
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise DeclarationError(f"{field}.name", "must be an identifier of at most 64 characters")
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise DeclarationError(f"{field}.optional", "must be True or False")
    group = raw.get("group")
    fields: dict[str, Any] = {
        "name": name,
        "type": kind,
        "description": _text(raw.get("description", ""), f"{field}.description",
                             TEXT_LIMITS["parameter_description"]),
        "group": None if group is None else _text(group, f"{field}.group",
                                                  TEXT_LIMITS["group"], empty=False),
        "optional": optional,
    }
    fields.update(_type_fields(kind, raw, field))
    parameter = Parameter(**fields)
    if raw.get("default") is not None:
        if kind == "ids":
            raise DeclarationError(f"{field}.default", "a list of ids cannot have a default")
        try:
            default = coerce(parameter, raw["default"])
        except InputError as exc:
            raise DeclarationError(f"{field}.default", exc.message) from None
        parameter = Parameter(**{**fields, "default": default})
    return parameter


def _type_fields(kind: str, raw: dict[str, Any], field: str) -> dict[str, Any]:
    if kind in ("int", "float"):
        number_type = int if kind == "int" else float
        bounds = {key: None if raw.get(key) is None
                  else _number(raw[key], f"{field}.{key}", number_type)
                  for key in ("min", "max")}
        if None not in bounds.values() and bounds["min"] > bounds["max"]:  # type: ignore[operator]
            raise DeclarationError(f"{field}.min", "is greater than max")
        return bounds
    if kind == "str":
        return {"max_length": _count(raw.get("max_length", DEFAULT_STR_LENGTH),
                                     f"{field}.max_length", 1, MAX_STR_LENGTH)}
    if kind == "choice":
        return {"values": _choices(raw.get("values"), f"{field}.values")}
    if kind == "ids":
        of = raw.get("of")
        if of not in OBJECT_KINDS:
            raise DeclarationError(f"{field}.of", f"must be one of {', '.join(OBJECT_KINDS)}")
        low = _count(raw.get("min_items", 0), f"{field}.min_items", 0, MAX_IDS)
        high = _count(raw.get("max_items", DEFAULT_MAX_IDS), f"{field}.max_items", 1, MAX_IDS)
        if low > high:
            raise DeclarationError(f"{field}.min_items", "is greater than max_items")
        return {"of": of, "min_items": low, "max_items": high}
    return {}


def _choices(values: Any, field: str) -> tuple[str | int, ...]:
    if not isinstance(values, list) or not values:
        raise DeclarationError(field, "must be a non-empty list")
    if len(values) > MAX_CHOICES:
        raise DeclarationError(field, f"more than {MAX_CHOICES} values")
    for index, value in enumerate(values):
        if isinstance(value, str):
            _text(value, f"{field}[{index}]", TEXT_LIMITS["choice"], empty=False)
        elif isinstance(value, bool) or not isinstance(value, int):
            raise DeclarationError(f"{field}[{index}]", "must be a string or an integer")
    if len({type(v) for v in values}) > 1:
        raise DeclarationError(field, "must be all strings or all integers")
    if len(set(values)) != len(values):
        raise DeclarationError(field, "contains duplicates")
    return tuple(values)
