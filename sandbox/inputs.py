"""Check a client's inputs for ``runScript`` against a script's declaration.

:func:`validate_inputs` returns exactly the values the script will receive (JSON-ready,
in declaration order); :func:`coerce` is the per-value rule, which also checks a
declaration's defaults. Whether the objects behind an ``ids`` list exist and may be
read by the user is the resolver's check, made with the ids returned here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.declaration import Parameter, ScriptDeclaration

# The rule of resolvers/ids.py: "Kind:pk" with a positive 64-bit primary key.
MAX_ID = 2**63 - 1
_GLOBAL_ID = re.compile(r"([A-Za-z]+):([0-9]{1,19})")
_COLOUR = re.compile(r"#([0-9A-Fa-f]{6})([0-9A-Fa-f]{2})?")


class InputError(ValueError):
    """A client's value is unusable; ``parameter`` names the input at fault."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        self.message = message
        super().__init__(f"{parameter}: {message}")


def validate_inputs(declaration: ScriptDeclaration, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The values the script receives: each declared parameter, given or defaulted.

    A parameter that is optional, has no default and was not given is None. Unknown
    names, missing required values and values of the wrong type or out of range raise
    :class:`InputError`.
    """
    if not isinstance(inputs, Mapping):
        raise InputError("inputs", "must be an object of parameter names to values")
    declared = {p.name for p in declaration.parameters}
    unknown = sorted(str(name) for name in inputs if name not in declared)
    if unknown:
        raise InputError(unknown[0], "the script has no such parameter")
    values: dict[str, Any] = {}
    for parameter in declaration.parameters:
        given = inputs.get(parameter.name)
        if given is not None:
            values[parameter.name] = coerce(parameter, given)
        elif parameter.default is not None:
            values[parameter.name] = parameter.default
        elif parameter.optional:
            values[parameter.name] = None
        else:
            raise InputError(parameter.name, "is required")
    return values


def coerce(parameter: Parameter, value: Any) -> Any:
    """``value`` checked and converted for ``parameter``, or :class:`InputError`."""
    name = parameter.name
    kind = parameter.type
    if kind in ("int", "float"):
        number = _int(name, value) if kind == "int" else _float(name, value)
        if parameter.min is not None and number < parameter.min:
            raise InputError(name, f"{number} is less than the minimum {parameter.min}")
        if parameter.max is not None and number > parameter.max:
            raise InputError(name, f"{number} is greater than the maximum {parameter.max}")
        return number
    if kind == "bool":
        if not isinstance(value, bool):
            raise InputError(name, "must be true or false")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise InputError(name, "must be a string")
        if parameter.max_length is not None and len(value) > parameter.max_length:
            raise InputError(name, f"longer than {parameter.max_length} characters")
        if "\x00" in value:
            raise InputError(name, "contains a NUL character")
        return value
    if kind == "colour":
        return _colour(name, value)
    if kind == "choice":
        assert parameter.values is not None
        # bool is an int, but True is no choice among integers.
        if isinstance(value, bool) or value not in parameter.values:
            shown = ", ".join(repr(v) for v in parameter.values[:20])
            raise InputError(name, f"{value!r} is not one of {shown}")
        return value
    if kind == "ids":
        return _ids(parameter, value)
    raise InputError(name, f"unknown parameter type {kind!r}")


def _int(name: str, value: Any) -> int:
    # JSON clients may send 3.0 for 3; anything with a fraction is an error, not rounded.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(name, "must be an integer")
    return value


def _float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(name, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(name, "must be a finite number")
    return number


def _colour(name: str, value: Any) -> str:
    """``"#RRGGBB"``, ``"#RRGGBBAA"`` or an RGBA integer, as ``"#RRGGBBAA"``."""
    if isinstance(value, str):
        match = _COLOUR.fullmatch(value)
        if match is None:
            raise InputError(name, "must be a colour like '#FF0000' or '#FF000080'")
        return f"#{match.group(1)}{match.group(2) or 'FF'}".upper()
    # OMERO stores colours as signed 32-bit RGBA integers; accept those and unsigned ones.
    if isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**32:
        return f"#{value & 0xFFFFFFFF:08X}"
    raise InputError(name, "must be a colour string or an RGBA integer")


def _ids(parameter: Parameter, value: Any) -> list[str]:
    name = parameter.name
    if not isinstance(value, list | tuple):
        raise InputError(name, f"must be a list of {parameter.of} ids")
    if parameter.max_items is not None and len(value) > parameter.max_items:
        raise InputError(name, f"more than {parameter.max_items} ids")
    ids: dict[str, None] = {}  # ordered and without repeats
    for index, item in enumerate(value):
        match = _GLOBAL_ID.fullmatch(item) if isinstance(item, str) else None
        if match is None:
            raise InputError(f"{name}[{index}]", f"{item!r} is not an id like '{parameter.of}:12'")
        kind, pk = match.group(1), int(match.group(2))
        if kind != parameter.of:
            raise InputError(f"{name}[{index}]", f"{item!r} is not of type {parameter.of}")
        if not 0 < pk <= MAX_ID:
            raise InputError(f"{name}[{index}]", f"{item!r} is out of range")
        ids[f"{kind}:{pk}"] = None
    if parameter.min_items is not None and len(ids) < parameter.min_items:
        raise InputError(name, f"needs at least {parameter.min_items} distinct ids")
    return list(ids)
