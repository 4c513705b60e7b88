#!/usr/bin/env bash
# Vendor GraphiQL's browser assets into web/static/vendor/ so /graphql works offline.
#
# Installs the pinned npm packages from web/frontend/package-lock.json (only when
# node_modules is missing or older than the lockfile) and copies the UMD builds the
# page needs. Idempotent and quick when already done; web/static/vendor/ is
# gitignored, never commit what this produces.
#
# Needs node and npm (Debian: apt-get install nodejs npm) and the npm registry.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FRONTEND="$ROOT/web/frontend"
VENDOR="$ROOT/web/static/vendor"
NM="$FRONTEND/node_modules"

# source (relative to node_modules) -> file name under web/static/vendor/.
# Keep in sync with VENDOR_FILES in web/graphiql.py.
FILES=(
    "react/umd/react.production.min.js:react.production.min.js"
    "react-dom/umd/react-dom.production.min.js:react-dom.production.min.js"
    "graphiql/graphiql.min.js:graphiql.min.js"
    "graphiql/graphiql.min.css:graphiql.min.css"
    # Licences travel with the code we serve.
    "react/LICENSE:LICENSE.react.txt"
    "react-dom/LICENSE:LICENSE.react-dom.txt"
    "graphiql/LICENSE:LICENSE.graphiql.txt"
)

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build-web: '$tool' not found; install Node.js and npm (Debian: apt-get install nodejs npm)" >&2
        exit 1
    fi
done

# npm writes node_modules/.package-lock.json after every successful install; it is
# our "installed from this lockfile" stamp.
stamp="$NM/.package-lock.json"
if [[ ! -d "$NM" || ! -f "$stamp" || "$FRONTEND/package-lock.json" -nt "$stamp" \
      || "$FRONTEND/package.json" -nt "$stamp" ]]; then
    echo "build-web: npm ci in web/frontend"
    (cd "$FRONTEND" && npm ci --no-audit --no-fund)
    touch "$stamp"
fi

mkdir -p "$VENDOR"
copied=0
for entry in "${FILES[@]}"; do
    src="$NM/${entry%%:*}"
    dst="$VENDOR/${entry#*:}"
    if [[ ! -f "$src" ]]; then
        echo "build-web: expected $src after npm ci; does web/frontend/package.json still pin a UMD build?" >&2
        exit 1
    fi
    if ! cmp -s "$src" "$dst"; then
        # Copy then rename, so a running server never serves a half-written file.
        cp "$src" "$dst.tmp.$$"
        chmod 0644 "$dst.tmp.$$"
        mv -f "$dst.tmp.$$" "$dst"
        copied=$((copied + 1))
    fi
done

echo "build-web: web/static/vendor up to date ($copied file(s) copied)"
