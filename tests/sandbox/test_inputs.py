"""runScript inputs are checked against the declaration and coerced to what the script gets."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.declaration import ScriptDeclaration, read_declaration
from sandbox.inputs import InputError, validate_inputs
from tests.sandbox.test_declaration import GOOD


@pytest.fixture(scope="module")
def declaration() -> ScriptDeclaration:
    return read_declaration(GOOD)


def test_defaults_fill_what_is_not_given(declaration: ScriptDeclaration) -> None:
    values = validate_inputs(declaration, {"images": ["Image:3"]})

    assert values == {
        "images": ["Image:3"],
        "sigma": 1.0,
        "repeats": 2,
        "mode": "nearest",
        "colour": "#FF0000FF",
        "label": None,
        "overwrite": False,
    }


def test_given_values_are_coerced(declaration: ScriptDeclaration) -> None:
    values = validate_inputs(declaration, {
        "images": ["Image:12", "Image:012", "Image:5"],
        "sigma": 3,
        "repeats": 4.0,
        "mode": "reflect",
        "colour": "#00ff0080",
        "label": "blurred",
        "overwrite": True,
    })

    assert values == {
        "images": ["Image:12", "Image:5"],  # canonical, in order, without repeats
        "sigma": 3.0,
        "repeats": 4,
        "mode": "reflect",
        "colour": "#00FF0080",
        "label": "blurred",
        "overwrite": True,
    }
    assert isinstance(values["sigma"], float) and isinstance(values["repeats"], int)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("#abcdef", "#ABCDEFFF"), (0xFF000080, "#FF000080"), (-1, "#FFFFFFFF"), (255, "#000000FF")],
)
def test_colours_are_hex_or_rgba_integers(
    declaration: ScriptDeclaration, given: Any, expected: str
) -> None:
    values = validate_inputs(declaration, {"images": ["Image:1"], "colour": given})

    assert values["colour"] == expected


REJECTED = {
    "missing required": ({}, "images", "is required"),
    "unknown parameter": ({"images": ["Image:1"], "gamma": 2}, "gamma", "no such parameter"),
    "int as a string": ({"repeats": "3"}, "repeats", "must be an integer"),
    "int with a fraction": ({"repeats": 2.5}, "repeats", "must be an integer"),
    "bool as an int": ({"repeats": True}, "repeats", "must be an integer"),
    "int above max": ({"repeats": 11}, "repeats", "greater than the maximum 10"),
    "float below min": ({"sigma": -0.1}, "sigma", "less than the minimum"),
    "float not finite": ({"sigma": float("nan")}, "sigma", "finite"),
    "float as a string": ({"sigma": "1.0"}, "sigma", "must be a number"),
    "bool as a string": ({"overwrite": "true"}, "overwrite", "true or false"),
    "str too long": ({"label": "x" * 21}, "label", "longer than 20"),
    "str with NUL": ({"label": "a\x00b"}, "label", "NUL"),
    "str as a number": ({"label": 5}, "label", "must be a string"),
    "not a choice": ({"mode": "wrap"}, "mode", "not one of 'reflect', 'nearest'"),
    "bad colour string": ({"colour": "red"}, "colour", "like '#FF0000'"),
    "colour out of range": ({"colour": 2**32}, "colour", "RGBA integer"),
    "ids not a list": ({"images": "Image:1"}, "images", "list of Image ids"),
    "ids of another kind": ({"images": ["Dataset:1"]}, "images[0]", "not of type Image"),
    "ids malformed": ({"images": ["Image:x"]}, "images[0]", "not an id like 'Image:12'"),
    "id zero": ({"images": ["Image:0"]}, "images[0]", "out of range"),
    "id too large": ({"images": [f"Image:{2**63}"]}, "images[0]", "out of range"),
    "bare integer id": ({"images": [12]}, "images[0]", "not an id"),
    "too few ids": ({"images": []}, "images", "at least 1"),
    "too many ids": ({"images": [f"Image:{i}" for i in range(1, 52)]}, "images", "more than 50"),
}


@pytest.mark.parametrize(("inputs", "parameter", "message"), REJECTED.values(),
                         ids=REJECTED.keys())
def test_bad_inputs_are_rejected_naming_the_parameter(
    declaration: ScriptDeclaration, inputs: dict[str, Any], parameter: str, message: str
) -> None:
    inputs = {"images": ["Image:1"], **inputs} if "images" not in inputs and inputs else inputs

    with pytest.raises(InputError) as caught:
        validate_inputs(declaration, inputs)

    assert caught.value.parameter == parameter
    assert message in caught.value.message


def test_inputs_must_be_a_mapping(declaration: ScriptDeclaration) -> None:
    with pytest.raises(InputError, match="inputs: must be an object"):
        validate_inputs(declaration, ["Image:1"])  # type: ignore[arg-type]
