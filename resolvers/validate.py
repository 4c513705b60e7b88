"""Boundary checks for values clients send: lengths, names, colours, group choice."""

from __future__ import annotations

import re
import unicodedata

from resolvers.actor import Actor
from resolvers.errors import Invalid
from store.base import DESCRIPTION_LENGTH, NAME_LENGTH

USERNAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$")
# Controls, format characters (bidi overrides), surrogates, private-use, unassigned, and the
# line/paragraph separators that would break a one-line name.
_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
# Format characters that real text needs: zero-width (non-)joiners in emoji and Persian.
_ALLOWED_FORMAT = {"\u200c", "\u200d"}


def clean_text(value: str, field: str, maximum: int, *, required: bool = False,
               multiline: bool = False) -> str:
    """NFC-normalise and bound a client string; reject control characters."""
    text = unicodedata.normalize("NFC", value)
    if len(text) > maximum:
        raise Invalid(f"{field} must have at most {maximum} characters", field)
    allowed = {"\n", "\t", "\r", "\u2028", "\u2029"} if multiline else set()
    allowed |= _ALLOWED_FORMAT
    if any(unicodedata.category(ch) in _CONTROL and ch not in allowed for ch in text):
        raise Invalid(f"{field} contains control characters", field)
    if required and not text.strip():
        raise Invalid(f"{field} must not be empty", field)
    return text.strip() if not multiline else text


def db_safe(value: str) -> bool:
    """Whether text can be a query parameter on every backend: no NUL (PostgreSQL refuses it)
    and no lone surrogates (JSON can carry them; UTF-8 cannot)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_name(value: str, field: str = "name") -> str:
    return clean_text(value, field, NAME_LENGTH, required=True)


def clean_description(value: str | None, field: str = "description") -> str | None:
    if value is None:
        return None
    return clean_text(value, field, DESCRIPTION_LENGTH, multiline=True)


def clean_username(value: str, field: str = "username") -> str:
    if not USERNAME_RE.fullmatch(value):
        raise Invalid(
            "username must be 1-64 letters, digits or . _ @ - and not start with . @ -", field
        )
    return value


def choose_group(actor: Actor, requested: int | None, field: str = "group") -> int:
    """The group new data goes into: the requested one, the request scope, or the default."""
    if requested is not None:
        return requested
    if actor.group_scope is not None:
        return actor.group_scope
    if actor.default_group_id is not None and actor.default_group_id in actor.memberships:
        return actor.default_group_id
    if len(actor.memberships) == 1:
        return next(iter(actor.memberships))
    raise Invalid("choose a group for the new object", field)
