"""The ldap_* settings: environment and TOML forms, and clear errors at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from omegraph.app import build_authenticator
from omegraph.settings import LdapGroupRule, SettingsError, load_settings, parse_ldap_group_rule

GROUPS = "ou=groups,dc=example,dc=org"
QUERY = "query:ou=roles,dc=example,dc=org:(&(objectClass=organizationalRole)(roleOccupant={dn}))"


def test_defaults_keep_ldap_off(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    assert settings.auth_order == ("local",)
    assert settings.ldap_urls == () and settings.ldap_group_rules == ()
    assert (settings.ldap_login_attribute, settings.ldap_user_filter) == (
        "uid", "(objectClass=inetOrgPerson)")
    assert settings.ldap_sync_on_login is True and settings.ldap_create_groups is False


def test_environment_form(tmp_path: Path) -> None:
    settings = load_settings({
        "OMEGRAPH_AUTH_ORDER": "ldap,local",
        "OMEGRAPH_LDAP_URLS": "ldaps://ldap1.example.org, ldap://ldap2.example.org:389",
        "OMEGRAPH_LDAP_STARTTLS": "true",
        "OMEGRAPH_LDAP_BIND_DN": "cn=omegraph,ou=services,dc=example,dc=org",
        "OMEGRAPH_LDAP_BIND_PASSWORD": "s3cret-bind",
        "OMEGRAPH_LDAP_USER_BASE": "ou=people,dc=example,dc=org",
        "OMEGRAPH_LDAP_GROUP_RULES": f"fixed:everyone; member_of:{GROUPS};"
                                     f"attribute:departmentNumber;{QUERY}",
        "OMEGRAPH_LDAP_INSTITUTION_ATTRIBUTE": "",
        "OMEGRAPH_LDAP_SYNC_ON_LOGIN": "off",
    }, data_dir=tmp_path)

    assert settings.auth_order == ("ldap", "local")
    assert settings.ldap_urls == ("ldaps://ldap1.example.org", "ldap://ldap2.example.org:389")
    assert settings.ldap_group_rules == (
        "fixed:everyone", f"member_of:{GROUPS}", "attribute:departmentNumber", QUERY)
    assert settings.ldap_institution_attribute == "" and settings.ldap_sync_on_login is False
    shown = settings.masked()
    assert shown["ldap_bind_password"] == "***" and "s3cret-bind" not in str(shown)
    assert shown["ldap_group_rules"].startswith(f"fixed:everyone; member_of:{GROUPS}; ")


def test_toml_form(tmp_path: Path) -> None:
    (tmp_path / "omegraph.toml").write_text(
        'ldap_urls = ["ldap://ldap.example.org"]\n'
        'ldap_group_rules = ["fixed:everyone", "query:ou=roles,dc=example,dc=org:(&(a=b;c)'
        '(roleOccupant={dn}))"]\n'
        "ldap_receive_timeout = 3\n")

    settings = load_settings({"OMEGRAPH_DATA_DIR": str(tmp_path)})

    assert settings.ldap_urls == ("ldap://ldap.example.org",)
    # In a list, a rule may hold ';' (an attribute option, say).
    assert settings.ldap_group_rules[1].endswith("(&(a=b;c)(roleOccupant={dn}))")
    assert settings.ldap_receive_timeout == 3


def test_rules_parse_into_their_parts() -> None:
    assert parse_ldap_group_rule(" fixed: lab one ") == LdapGroupRule("fixed", "lab one")
    assert parse_ldap_group_rule(QUERY) == LdapGroupRule(
        "query", "ou=roles,dc=example,dc=org",
        "(&(objectClass=organizationalRole)(roleOccupant={dn}))")


@pytest.mark.parametrize(("env", "message"), [
    ({"OMEGRAPH_LDAP_URLS": "https://ldap.example.org"}, "ldap_urls: 'https://"),
    ({"OMEGRAPH_LDAP_URLS": "ldap://ldap.example.org:0"}, "ldap_urls"),
    ({"OMEGRAPH_LDAP_URLS": "ldap://ldap.example.org/ou=people?uid"}, "ldap_urls"),
    ({"OMEGRAPH_LDAP_USER_BASE": "people"}, "ldap_user_base: 'people' is not a DN"),
    ({"OMEGRAPH_LDAP_USER_FILTER": "objectClass=person"}, "ldap_user_filter"),
    ({"OMEGRAPH_LDAP_LOGIN_ATTRIBUTE": "u(id"}, "ldap_login_attribute"),
    ({"OMEGRAPH_LDAP_RECEIVE_TIMEOUT": "0"}, "ldap_receive_timeout"),
    ({"OMEGRAPH_LDAP_GROUP_RULES": "group:lab"}, "ldap_group_rules: rule 'group:lab' must"),
    ({"OMEGRAPH_LDAP_GROUP_RULES": "fixed:"}, "names nothing after fixed:"),
    ({"OMEGRAPH_LDAP_GROUP_RULES": "member_of:groups"}, "'groups' is not a DN"),
    ({"OMEGRAPH_LDAP_GROUP_RULES": "attribute:depart ment"}, "not an LDAP attribute"),
    ({"OMEGRAPH_LDAP_GROUP_RULES": "query:ou=x,dc=y"}, "query:BASE_DN:\\(FILTER\\)"),
    ({"OMEGRAPH_LDAP_GROUP_RULES": "query:ou=x,dc=y:(cn=lab)"}, "must use {dn}"),
    ({"OMEGRAPH_LDAP_GROUP_RULES": "query:ou=x,dc=y:(member={dn}"}, "not an LDAP filter"),
])
def test_bad_values_are_refused_naming_the_setting(tmp_path: Path, env: dict[str, str],
                                                   message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(env, data_dir=tmp_path)


@pytest.mark.parametrize(("overrides", "message"), [
    ({}, "ldap_urls: the ldap login provider needs a directory URL"),
    ({"ldap_urls": "ldap://ldap.example.org"}, "ldap_user_base"),
    ({"ldap_urls": "ldap://ldap.example.org", "ldap_user_base": "dc=example,dc=org",
      "ldap_bind_dn": "cn=omegraph,dc=example,dc=org"}, "ldap_bind_password"),
    ({"ldap_urls": "ldaps://ldap.example.org", "ldap_user_base": "dc=example,dc=org",
      "ldap_ca_file": "/nonexistent/ca.pem"}, "ldap_ca_file: /nonexistent/ca.pem"),
])
def test_the_ldap_provider_refuses_to_start_without_what_it_needs(
        tmp_path: Path, overrides: dict[str, str], message: str) -> None:
    settings = load_settings({}, data_dir=tmp_path, auth_order="ldap,local", **overrides)
    with pytest.raises(SettingsError, match=message):
        build_authenticator(settings)


def test_unknown_providers_name_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="known: local, ldap"):
        build_authenticator(load_settings({}, data_dir=tmp_path, auth_order="kerberos"))
