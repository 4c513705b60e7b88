#!/usr/bin/env bash
# Set everything up and run OMEGraph on the embedded default (SQLite + local repository),
# with a demo user, group, project and dataset. Extra arguments go to `omegraph serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/omegraph db upgrade
exec .venv/bin/omegraph serve --demo "$@"
