#!/usr/bin/env bash
# Set everything up (Python packages, Debian packages, web assets) and run the whole suite:
# lint, type checks and tests against SQLite, the real PostgreSQL and a real Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-deps
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -n 2 "$@"
