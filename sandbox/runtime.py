"""What a sandboxed script runs with: an interpreter, its packages, and a uid of its own.

Measured on the project's machines (Debian 12, bubblewrap 0.8, Python 3.11):

- bwrap resolves bind sources *as the uid it runs as*, so everything bound into the
  sandbox must be reachable by that uid. The project's venv points at a pyenv build
  under ``/root`` (mode 0700), which an unprivileged uid cannot read; Debian's
  ``/usr/bin/python3.11`` is world-readable and imports the venv's numpy and numba
  (compiled for the 3.11 ABI) once the venv's site-packages is on ``sys.path``. So the
  sandbox runs the system interpreter of the same minor version with the current
  environment's site-packages bound read-only, and refuses to start without one.
- Handing bwrap an ``O_PATH`` descriptor (``/proc/self/fd/N``) does not get around a
  parent directory it cannot traverse, so work directories must live under
  directories that the sandbox uid can traverse (mode ``o+x``).
- RLIMIT_NPROC counts every process of the *real* uid, and is not enforced for root.
  Each run therefore gets a uid of its own from a reserved range, held with a lock
  file for the duration of the run, so neither other jobs nor the worker count against
  a script's process limit.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import signal
import stat
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Far above any uid that Debian or systemd hands out (dynamic users stop at 65519), so no
# file on the host belongs to these uids and no other process runs as them.
DEFAULT_UIDS = range(1_900_000_000, 1_900_000_256)
LOCK_DIRECTORY = Path("/run/omegraph-sandbox")
# The directory holding the ``omegraph_script`` package that scripts import.
CLIENT_LIBRARY = Path(__file__).resolve().parent / "client"


class SandboxUnavailable(RuntimeError):
    """The machine cannot run sandboxed scripts (no bwrap, no usable interpreter, ...)."""


@dataclass(frozen=True)
class SandboxRuntime:
    """A world-readable interpreter and the package directories bound next to it."""

    python: Path
    site_packages: tuple[Path, ...]


def world_reachable(path: Path) -> bool:
    """True when any uid can read ``path`` and traverse every directory above it."""
    path = path.resolve()
    try:
        if not path.stat().st_mode & stat.S_IROTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)
    except OSError:
        return False


def default_runtime() -> SandboxRuntime:
    """The system Python matching this one, with this environment's site-packages."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [Path(sys.executable).resolve(), Path(f"/usr/bin/python{version}")]
    # Only an interpreter under /usr comes with its standard library in the sandbox.
    usable = [c for c in candidates if c.is_relative_to("/usr") and world_reachable(c)]
    if not usable:
        raise SandboxUnavailable(
            f"no world-readable Python {version} under /usr for the sandbox "
            f"(install Debian's python{version}); {sys.executable} is not readable by "
            "the sandbox's unprivileged uid"
        )
    paths = sysconfig.get_paths()
    site = tuple(dict.fromkeys(Path(paths[key]).resolve() for key in ("purelib", "platlib")))
    # The script API (``import omegraph_script``), bound read-only like the packages.
    site += (CLIENT_LIBRARY,)
    unreachable = [str(p) for p in site if not world_reachable(p)]
    if unreachable:
        raise SandboxUnavailable(f"site-packages not readable by other uids: {unreachable}")
    return SandboxRuntime(python=usable[0], site_packages=site)


@dataclass(frozen=True)
class SandboxUser:
    """The identity a run uses; ``switch`` is False when the caller cannot change uid."""

    uid: int
    gid: int
    switch: bool


@contextmanager
def sandbox_user(
    uids: range = DEFAULT_UIDS, lock_directory: Path = LOCK_DIRECTORY
) -> Iterator[SandboxUser]:
    """Hold one free uid of the reserved range for the duration of a run.

    Not root: the run keeps the caller's uid (bwrap still isolates it), and
    RLIMIT_NPROC then counts all of the caller's processes; deployments run workers as
    root so each script gets a uid of its own.
    """
    if os.geteuid() != 0:
        yield SandboxUser(uid=os.getuid(), gid=os.getgid(), switch=False)
        return
    lock_directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # A random start spreads consecutive runs over the range, so a run seldom gets a uid
    # whose previous run's last zombie the host's init has not reaped yet.
    start = secrets.randbelow(len(uids))
    for offset in range(len(uids)):
        uid = uids[(start + offset) % len(uids)]
        descriptor = os.open(lock_directory / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        try:
            yield SandboxUser(uid=uid, gid=uid, switch=True)
        finally:
            os.close(descriptor)  # closing releases the lock
        return
    raise SandboxUnavailable(f"all {len(uids)} sandbox uids of {uids} are in use")


def _live_processes_of(uid: int) -> list[int]:
    """Pids of ``uid`` that are not zombies.

    Zombies are left out: bwrap's monitor may exit before it reaps the sandbox's pid 1,
    which then waits for the host's init to reap it (measured: about 2 s here). It
    holds nothing but a pid; :func:`sandbox.runtime.sandbox_user` starts at a random
    uid of its range so the next run rarely inherits it in its process count.
    """
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/stat", "rb") as stat_file:
                state = stat_file.read().rpartition(b")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if state != b"Z":
            found.append(int(entry.name))
    return found


def sweep_processes(user: SandboxUser, timeout: float = 5.0) -> None:
    """Kill every process left with the run's uid and wait until they are gone.

    The kernel kills the pid namespace when its pid 1 exits, but those processes take
    a moment to disappear, and until they do they count against the uid's
    RLIMIT_NPROC for whichever run gets the uid next.
    """
    if not user.switch:
        return

    def kill_all_of_this_uid() -> None:
        # kill(-1) as that uid reaches all of its processes but the caller itself; the
        # last of them may be gone by now, which is no error.
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)

    deadline = time.monotonic() + timeout
    while _live_processes_of(user.uid) and time.monotonic() < deadline:
        subprocess.run(
            ["/bin/true"], user=user.uid, group=user.gid, extra_groups=[],
            preexec_fn=kill_all_of_this_uid, check=False,
        )
        time.sleep(0.02)
