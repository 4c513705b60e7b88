"""Script declarations are read with ast only, and bad ones are refused with the field at fault."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sandbox.declaration import (
    MAX_PARAMETERS,
    MAX_SOURCE_BYTES,
    DeclarationError,
    Parameter,
    read_declaration,
)

GOOD = '''\
"""Blur images."""
import numpy as np

SCRIPT = {
    "name": "Gaussian blur",
    "version": "1.2.0",
    "description": "Blurs each plane.",
    "authors": ["A. Person", "B. Person"],
    "parameters": [
        {"name": "images", "type": "ids", "of": "Image", "min_items": 1, "max_items": 50,
         "description": "Images to blur"},
        {"name": "sigma", "type": "float", "default": 1, "min": 0, "max": 20, "group": "Filter"},
        {"name": "repeats", "type": "int", "default": 2, "min": 1, "max": 10, "group": "Filter"},
        {"name": "mode", "type": "choice", "values": ["reflect", "nearest"], "default": "nearest"},
        {"name": "colour", "type": "colour", "default": "#ff0000"},
        {"name": "label", "type": "str", "max_length": 20, "optional": True},
        {"name": "overwrite", "type": "bool", "default": False},
    ],
}

raise SystemExit("never runs while the declaration is read")
'''


def script(body: str, *, parameters: str | None = None) -> str:
    """A declaration whose parameters list is ``parameters``, or whose whole value is ``body``."""
    if parameters is not None:
        body = f'{{"name": "s", "version": "1", "parameters": [{parameters}]}}'
    return f"SCRIPT = {body}\n"


def test_a_good_declaration_is_read_without_running_the_script(tmp_path: Path) -> None:
    declaration = read_declaration(GOOD.encode())

    assert (declaration.name, declaration.version) == ("Gaussian blur", "1.2.0")
    assert declaration.authors == ("A. Person", "B. Person")
    assert [p.name for p in declaration.parameters] == [
        "images", "sigma", "repeats", "mode", "colour", "label", "overwrite"]
    assert declaration.parameter("images") == Parameter(
        name="images", type="ids", description="Images to blur", of="Image",
        min_items=1, max_items=50)
    sigma = declaration.parameter("sigma")
    assert sigma is not None
    assert (sigma.default, sigma.min, sigma.max, sigma.group) == (1.0, 0.0, 20.0, "Filter")
    assert isinstance(sigma.default, float)
    colour = declaration.parameter("colour")
    assert colour is not None and colour.default == "#FF0000FF"
    required = {p.name for p in declaration.parameters if p.required}
    assert required == {"images"}


def test_an_annotated_assignment_counts() -> None:
    declaration = read_declaration('SCRIPT: dict = {"name": "n", "version": "1"}\n')

    assert declaration.parameters == ()


TOO_MANY = ", ".join(f'{{"name": "p{i}", "type": "int"}}' for i in range(MAX_PARAMETERS + 1))

REJECTED = {
    "no declaration": ("import os\n", "SCRIPT", "no module-level"),
    "not a literal": ("SCRIPT = dict(name='x')\n", "SCRIPT", "must be a literal"),
    "computed value": (script('{"name": "x" + str(1), "version": "1"}'), "SCRIPT", "literal"),
    "declared twice": (script('{"name": "x", "version": "1"}') * 2, "SCRIPT", "more than once"),
    "chained assignment": ('A = SCRIPT = {"name": "x", "version": "1"}\n', "SCRIPT", "own"),
    "not a dict": (script("[1, 2]"), "SCRIPT", "must be a dict"),
    "syntax error": ("x = 1\nSCRIPT = {\n", "source", "syntax error"),
    "unknown top-level key": (script('{"name": "x", "version": "1", "licence": "MIT"}'),
                              "SCRIPT.licence", "unknown key"),
    "missing name": (script('{"version": "1"}'), "name", "required"),
    "empty name": (script('{"name": " ", "version": "1"}'), "name", "empty"),
    "long name": (script('{"name": "' + "n" * 101 + '", "version": "1"}'), "name", "longer"),
    "bad version": (script('{"name": "x", "version": "v one"}'), "version", "1.2.3-beta"),
    "long description": (script('{"name": "x", "version": "1", "description": "'
                                + "d" * 4001 + '"}'), "description", "longer than 4000"),
    "control characters": (script('{"name": "x\\x07", "version": "1"}'), "name", "control"),
    "authors not a list": (script('{"name": "x", "version": "1", "authors": "me"}'),
                           "authors", "list"),
    "too many parameters": (script("", parameters=TOO_MANY), "parameters", "more than 50"),
    "unknown type": (script("", parameters='{"name": "a", "type": "complex"}'),
                     "parameters[0].type", "must be one of"),
    "unknown parameter key": (script("", parameters='{"name": "a", "type": "int", "step": 2}'),
                              "parameters[0].step", "unknown key"),
    "key of another type": (script("", parameters='{"name": "a", "type": "str", "min": 2}'),
                            "parameters[0].min", "unknown key"),
    "bad parameter name": (script("", parameters='{"name": "my param", "type": "int"}'),
                           "parameters[0].name", "identifier"),
    "duplicate names": (script("", parameters='{"name": "a", "type": "int"}, '
                               '{"name": "a", "type": "str"}'),
                        "parameters[1].name", "duplicate parameter name 'a'"),
    "default of the wrong type": (script("", parameters='{"name": "a", "type": "int", '
                                         '"default": "3"}'),
                                  "parameters[0].default", "must be an integer"),
    "default below min": (script("", parameters='{"name": "a", "type": "float", "min": 1, '
                                 '"default": 0.5}'),
                          "parameters[0].default", "less than the minimum"),
    "default not a choice": (script("", parameters='{"name": "a", "type": "choice", '
                                    '"values": ["x"], "default": "y"}'),
                             "parameters[0].default", "not one of"),
    "default for ids": (script("", parameters='{"name": "a", "type": "ids", "of": "Image", '
                               '"default": ["Image:1"]}'),
                        "parameters[0].default", "cannot have a default"),
    "min above max": (script("", parameters='{"name": "a", "type": "int", "min": 5, "max": 1}'),
                      "parameters[0].min", "greater than max"),
    "float bound for an int": (script("", parameters='{"name": "a", "type": "int", '
                                      '"max": 1.5}'),
                               "parameters[0].max", "integer"),
    "empty choices": (script("", parameters='{"name": "a", "type": "choice", "values": []}'),
                      "parameters[0].values", "non-empty"),
    "mixed choices": (script("", parameters='{"name": "a", "type": "choice", '
                             '"values": ["x", 1]}'), "parameters[0].values", "all strings"),
    "duplicate choices": (script("", parameters='{"name": "a", "type": "choice", '
                                 '"values": ["x", "x"]}'), "parameters[0].values", "duplicates"),
    "ids of an unknown kind": (script("", parameters='{"name": "a", "type": "ids", '
                                      '"of": "Banana"}'), "parameters[0].of", "must be one of"),
    "min_items above max_items": (script("", parameters='{"name": "a", "type": "ids", '
                                         '"of": "Image", "min_items": 5, "max_items": 2}'),
                                  "parameters[0].min_items", "greater than max_items"),
    "too many ids allowed": (script("", parameters='{"name": "a", "type": "ids", '
                                    '"of": "Image", "max_items": 100000}'),
                             "parameters[0].max_items", "between 1 and 10000"),
    "str too long allowed": (script("", parameters='{"name": "a", "type": "str", '
                                    '"max_length": 1000000}'),
                             "parameters[0].max_length", "between 1 and 100000"),
    "optional not a bool": (script("", parameters='{"name": "a", "type": "int", '
                                   '"optional": 1}'), "parameters[0].optional", "True or False"),
}


@pytest.mark.parametrize(("source", "field", "message"), REJECTED.values(), ids=REJECTED.keys())
def test_bad_declarations_are_rejected_with_the_field_at_fault(
    source: str, field: str, message: str
) -> None:
    with pytest.raises(DeclarationError) as caught:
        read_declaration(source)

    assert caught.value.field == field
    assert message in caught.value.message


def test_errors_name_the_line() -> None:
    source = textwrap.dedent('''\
        import os

        SCRIPT = {
            "name": "x",
            "version": "1",
            "parameters": [{"name": "a", "type": "int", "min": 3, "max": 1}],
        }
        ''')

    with pytest.raises(DeclarationError, match=r"parameters\[0\].min: .*\(line 3\)"):
        read_declaration(source)


def test_a_syntax_error_reports_its_line() -> None:
    with pytest.raises(DeclarationError) as caught:
        read_declaration('SCRIPT = {"name": "x", "version": "1"}\n\ndef broken(:\n')

    assert (caught.value.field, caught.value.line) == ("source", 3)


def test_oversized_and_non_utf8_sources_are_rejected() -> None:
    with pytest.raises(DeclarationError, match="larger than"):
        read_declaration(b"#" * (MAX_SOURCE_BYTES + 1))
    with pytest.raises(DeclarationError, match="larger than"):
        read_declaration("#" * (MAX_SOURCE_BYTES + 1))
    with pytest.raises(DeclarationError, match="not UTF-8"):
        read_declaration(b'SCRIPT = {"name": "\xff", "version": "1"}')


def test_deeply_nested_literals_do_not_crash_the_reader() -> None:
    with pytest.raises(DeclarationError):
        read_declaration("SCRIPT = " + "[" * 100_000 + "]" * 100_000)


def test_the_documented_example_is_a_valid_declaration() -> None:
    import sandbox.declaration

    doc = sandbox.declaration.__doc__ or ""
    example = textwrap.dedent(doc.split("::\n", 1)[1].split("\nEvery parameter", 1)[0])

    declaration = read_declaration(example)

    assert declaration.name == "Gaussian blur"
    assert len(declaration.parameters) == 7
