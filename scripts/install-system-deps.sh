#!/usr/bin/env bash
# Install the Debian packages omegraph needs on a development or CI machine.
#
# Idempotent: packages already installed are skipped, and when nothing is missing
# the script touches neither apt nor the network.
#
# To add a package, append it to PACKAGES below (one per line, with a comment
# saying what needs it).
set -euo pipefail

PACKAGES=(
    chromium          # headless browser for the GraphiQL browser tests (pytest -m browser)
    chromium-driver   # WebDriver for chromium; kept alongside it for tooling that wants it
    slapd             # OpenLDAP server the LDAP login tests start on a free port (tests/ldap)
    ldap-utils        # ldapsearch/ldapmodify, for looking into that directory by hand
    openssl           # makes the throwaway CA and certificate for those tests' TLS
    bubblewrap        # bwrap, the sandbox that runs users' scripts (sandbox/launcher.py, tests/sandbox)
)

is_installed() {
    # dpkg-query prints the status for installed packages as "install ok installed".
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: this script needs a Debian-based system (dpkg-query, apt-get)." >&2
    exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! is_installed "$pkg"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-system-deps: all present (${PACKAGES[*]})"
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "install-system-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-system-deps: not running as root; install them with:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "install-system-deps: installing ${missing[*]}"
# slapd would otherwise ask for a domain and an admin password, then set up and start a
# system-wide directory. The tests build their own configuration and start it themselves.
if command -v debconf-set-selections >/dev/null 2>&1; then
    echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"

# Re-check so a silently skipped package fails loudly here rather than in a test later.
still_missing=()
for pkg in "${missing[@]}"; do
    if ! is_installed "$pkg"; then
        still_missing+=("$pkg")
    fi
done
if ((${#still_missing[@]} != 0)); then
    echo "install-system-deps: still missing after install: ${still_missing[*]}" >&2
    exit 1
fi
echo "install-system-deps: done"
