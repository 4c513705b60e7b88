"""Group rules for directory users: which groups the directory says, and applying them.

Groups are matched to OMEGraph groups by exact name. By default only groups that already exist
count (an administrator decides which directory groups mean something here); with
``ldap_create_groups`` missing ones are created private (rw----), the safest level. Memberships
made here carry ``managed_by="ldap"``; a sync adds and removes only those, so memberships an
administrator made by hand (``managed_by`` None) are never touched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from ldap3 import SUBTREE, Connection
from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn
from sqlalchemy import select
from sqlalchemy.orm import Session

from omegraph.settings import LdapGroupRule
from resolvers import audit
from resolvers.authn import ProviderUnavailable
from resolvers.validate import db_safe
from store.accounts import Experimenter, ExperimenterGroup, GroupMembership, PermissionLevel

log = logging.getLogger("omegraph.ldap")

Entries = list[tuple[str, dict[str, list[str]]]]
MEMBER_FILTER = ("(|(&(objectClass=groupOfNames)(member={dn}))"
                 "(&(objectClass=groupOfUniqueNames)(uniqueMember={dn})))")
_ESCAPE = re.compile(rb"\\([0-9A-Fa-f]{2}|.)")


def search(conn: Connection, base: str, search_filter: str, attributes: Sequence[str],
           size_limit: int = 0) -> Entries:
    """(dn, {lower-cased attribute: values}) of the entries found; ProviderUnavailable when
    the directory cannot answer (a sync must never act on a partial answer)."""
    conn.search(base, search_filter, SUBTREE, attributes=list(attributes),
                size_limit=size_limit)
    if conn.result.get("result") not in (0, 4):  # success, sizeLimitExceeded
        log.error("ldap: search under %s failed: %s", base, conn.result.get("description"))
        raise ProviderUnavailable("the directory search failed")
    return [(item["dn"], {name.lower(): [v.decode("utf-8", "replace") for v in values]
                          for name, values in item["raw_attributes"].items()})
            for item in conn.response or () if item.get("type") == "searchResEntry"]


def group_names(conn: Connection, rules: Sequence[LdapGroupRule], dn: str,
                attributes: dict[str, list[str]]) -> list[str]:
    """The group names the rules give the user, in rule order, without repeats."""
    escaped = escape_filter_chars(dn)
    names: list[str] = []
    for rule in rules:
        if rule.kind == "fixed":
            found = [rule.target]
        elif rule.kind == "attribute":
            found = attributes.get(rule.target.lower(), [])
        elif rule.kind == "member_of":
            found = [cn for group in attributes.get("memberof", [])
                     if _under(group, rule.target) and (cn := _rdn_cn(group))]
            found += _cns(search(conn, rule.target, MEMBER_FILTER.replace("{dn}", escaped),
                                 ["cn"]))
        else:
            found = _cns(search(conn, rule.target, rule.filter.replace("{dn}", escaped), ["cn"]))
        names += [name.strip() for name in found if name.strip() not in names]
    return [name for name in names if 0 < len(name) <= 255 and db_safe(name)]


def apply_memberships(db: Session, user: Experimenter, wanted: Sequence[str],
                      create: bool) -> tuple[list[str], list[str]]:
    """Make the user's directory-made memberships exactly ``wanted``; (added, removed)."""
    groups = {group.name: group for group in db.scalars(
        select(ExperimenterGroup).where(ExperimenterGroup.name.in_(wanted)))} if wanted else {}
    for name in wanted:
        if name not in groups and create:
            groups[name] = ExperimenterGroup(name=name, permissions=PermissionLevel.PRIVATE.value)
            db.add(groups[name])
            db.flush()
            audit.record(db, "group.create", None, actor_name=user.username[:64],
                         target=f"Group:{groups[name].id}", details={"source": "ldap"})
    ordered = [groups[name] for name in wanted if name in groups]
    wanted_ids = {group.id for group in ordered}
    current = {membership.group_id: (membership, name) for membership, name in db.execute(
        select(GroupMembership, ExperimenterGroup.name)
        .join(ExperimenterGroup, ExperimenterGroup.id == GroupMembership.group_id)
        .where(GroupMembership.experimenter_id == user.id))}
    added = [group.name for group in ordered if group.id not in current]
    for group in ordered:
        if group.id not in current:
            db.add(GroupMembership(experimenter_id=user.id, group_id=group.id,
                                   managed_by="ldap"))
    removed: dict[int, str] = {}
    for group_id, (membership, name) in current.items():
        if membership.managed_by == "ldap" and group_id not in wanted_ids:
            db.delete(membership)
            removed[group_id] = name
    remaining = (set(current) - set(removed)) | wanted_ids
    if user.default_group_id not in remaining:
        user.default_group_id = ordered[0].id if ordered else min(remaining, default=None)
    db.flush()
    return added, list(removed.values())


def _cns(entries: Entries) -> list[str]:
    return [values["cn"][0] for _dn, values in entries if values.get("cn")]


def _parts(dn: str) -> list[tuple[str, str]]:
    return [(name.lower(), value.strip().lower()) for name, value, _sep in parse_dn(dn)]


def _under(dn: str, base: str) -> bool:
    try:
        parts, base_parts = _parts(dn), _parts(base)
    except LDAPInvalidDnError:
        return False
    return len(parts) > len(base_parts) and parts[-len(base_parts):] == base_parts


def _rdn_cn(dn: str) -> str | None:
    """The unescaped value of a ``cn=...`` RDN (memberOf values carry only the DN)."""
    name, value, _sep = parse_dn(dn)[0]
    if name.lower() != "cn":
        return None
    return _ESCAPE.sub(lambda m: bytes([int(m[1], 16)]) if len(m[1]) == 2 else m[1],
                       value.encode()).decode("utf-8", "replace")
