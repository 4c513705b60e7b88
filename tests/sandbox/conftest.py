"""Fixtures for running scripts in the real sandbox (bubblewrap, rlimits, seccomp).

Without bwrap or a world-readable interpreter the sandbox tests are skipped with the
reason; with ``CI=true`` they fail instead, as the database tests do.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox.launcher import SandboxLimits, SandboxResult, run_sandboxed
from sandbox.runtime import (
    DEFAULT_UIDS,
    LOCK_DIRECTORY,
    SandboxRuntime,
    SandboxUnavailable,
    default_runtime,
)
from tests.services import IN_CI

# Small limits keep the misbehaving scripts quick; numpy needs ~512 MB of address space.
# CPU time is generous (a loaded CI machine must not turn a memory bomb into a CPU-limit
# kill); the endless-loop test sets its own one second.
FAST_LIMITS = SandboxLimits(
    cpu_seconds=8,
    wall_seconds=10,
    memory_bytes=768 * 1024**2,
    max_processes=16,
    max_output_bytes=4096,
    max_file_bytes=1024**2,
    tmp_bytes=4 * 1024**2,
)

Runner = Callable[..., SandboxResult]

# A uid of this test process's own, past the default range, so tests can check that no
# process of it outlives a run while other pytest-xdist workers run sandboxes too.
TEST_UID = DEFAULT_UIDS.stop + os.getpid() % 1_000_000


@pytest.fixture(scope="session")
def runtime() -> SandboxRuntime:
    try:
        if shutil.which("bwrap") is None:
            raise SandboxUnavailable("bwrap is not installed (scripts/install-system-deps.sh)")
        return default_runtime()
    except SandboxUnavailable as exc:
        if IN_CI:
            pytest.fail(f"the script sandbox cannot run: {exc}; CI requires it", pytrace=False)
        pytest.skip(f"the script sandbox cannot run here: {exc}")


@pytest.fixture(scope="session")
def sandbox_base() -> Iterator[Path]:
    """A parent for work directories that the sandbox's uid can traverse (mode 0711).

    pytest's tmp_path lives under a 0700 directory of root's, which bwrap, running as
    the unprivileged uid, cannot bind from.
    """
    base = Path(tempfile.mkdtemp(prefix="omegraph-sandbox-test-"))
    base.chmod(0o711)
    yield base
    shutil.rmtree(base, ignore_errors=True)
    # The uid is this process's alone, so its lock file can go (the default range's stay).
    (LOCK_DIRECTORY / f"{TEST_UID}.lock").unlink(missing_ok=True)


@pytest.fixture
def workdir(sandbox_base: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=sandbox_base))


@pytest.fixture
def run(runtime: SandboxRuntime, workdir: Path, sandbox_base: Path) -> Runner:
    """Run a script given as source text with FAST_LIMITS unless told otherwise."""

    def runner(source: str, inputs_json: str = "{}", **options: object) -> SandboxResult:
        script = Path(tempfile.mkdtemp(dir=sandbox_base)) / "script.py"
        script.write_text(textwrap.dedent(source))
        options.setdefault("limits", FAST_LIMITS)
        options.setdefault("uids", range(TEST_UID, TEST_UID + 1))
        options.setdefault("runtime", runtime)
        return run_sandboxed(script, workdir=workdir, inputs_json=inputs_json,
                             **options)  # type: ignore[arg-type]

    return runner
