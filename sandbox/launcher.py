"""Run one script under bubblewrap, with rlimits, a seccomp filter and a wall clock.

What the script sees (everything else of the host is absent, not just unreadable):

=====================  ==========================================================
``/usr``               the host's, read-only (``/bin``, ``/lib``, ``/lib64`` link to it)
``/etc``               only ``ld.so.cache`` (and ``localtime``), read-only
``/opt/omegraph/N``    the site-packages of the worker's environment, read-only
``/run/omegraph/``     ``script.py`` and ``inputs.json``, read-only copies, and
                       ``channel``, the socket to the server (with ``channel=``)
``/work``              the run's work directory, writable; the current directory
``/tmp``               a private tmpfs of ``tmp_bytes``
``/proc``, ``/dev``    bwrap's own: the sandbox's processes, null/zero/random/tty;
                       read-only but for ``/dev/shm``, a tmpfs of ``shm_bytes``
=====================  ==========================================================

Every namespace is unshared (no network but a downed loopback, no view of host
processes), the user namespace cannot be nested, the script runs in a new session with
a cleared environment, and when this process dies the sandbox dies with it. Around
that: rlimits set just before ``exec`` (address space, CPU seconds, processes of the
run's dedicated uid, file size, open files, no core dumps), the seccomp filter of
:mod:`sandbox.seccomp`, and a wall-clock deadline after which the whole process group
is killed. Killing bwrap's monitor kills the sandbox's pid 1, and the kernel then kills
every process in its pid namespace; a last ``kill(-1)`` as the run's uid sweeps anything
left before that uid is handed to the next run.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sandbox.capture import CappedReader
from sandbox.runtime import (
    DEFAULT_UIDS,
    SandboxRuntime,
    SandboxUnavailable,
    SandboxUser,
    default_runtime,
    sandbox_user,
    sweep_processes,
)
from sandbox.seccomp import build_filter

SCRIPT_PATH = "/run/omegraph/script.py"
INPUTS_PATH = "/run/omegraph/inputs.json"
CHANNEL_PATH = "/run/omegraph/channel"
SITE_ROOT = "/opt/omegraph"
INNER_UID = 1000
# Exit status the bootstrap uses when the script dies of MemoryError, so the result can
# say "memory" instead of a bare 1. A script could exit with it on purpose, but it would
# only mislabel its own failure.
EXIT_MEMORY = 86

# The environment of every script; ``run_sandboxed(env=...)`` adds to it. Thread pools
# are pinned to one thread because each thread counts against RLIMIT_NPROC.
BASE_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/work",
    "TMPDIR": "/tmp",  # noqa: S108 - the sandbox's private tmpfs
    "PWD": "/work",
    "LANG": "C.UTF-8",
    "OMEGRAPH_INPUTS": INPUTS_PATH,
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "NUMBA_CACHE_DIR": "/tmp/numba-cache",  # noqa: S108 - inside the sandbox
}

# Its first act tells the launcher that the sandbox was built and Python started (bwrap
# exits 1 both when it cannot build the sandbox and when a script exits 1).
_BOOTSTRAP = """\
import os, runpy, site, sys
os.write({started}, b"1")
os.close({started})
sys.path.extend({site!r})
site.setquit()  # exit() and quit(), which -S leaves out
sys.argv = [{script!r}]
try:
    runpy.run_path({script!r}, run_name="__main__")
except MemoryError:
    sys.stderr.write("omegraph sandbox: MemoryError: the script exceeded its memory limit\\n")
    sys.stderr.flush()
    os._exit({exit_memory})
"""


class SandboxSetupError(RuntimeError):
    """bwrap could not build the sandbox; the script never started."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one run. Sizes are bytes, times seconds."""

    cpu_seconds: int = 60
    wall_seconds: float = 300.0
    # numpy and numba need an address space of at least ~512 MB just to import.
    memory_bytes: int = 2 * 1024**3
    max_processes: int = 64
    max_output_bytes: int = 1024**2
    max_file_bytes: int = 1024**3
    max_open_files: int = 256
    tmp_bytes: int = 256 * 1024**2
    shm_bytes: int = 64 * 1024**2


@dataclass(frozen=True)
class SandboxResult:
    """How a run ended. ``killed_reason`` is None when the script exited by itself."""

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool
    killed_reason: str | None
    duration: float
    stdout_cut: int
    stderr_cut: int


def bwrap_path() -> str:
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    return found


def _root_links() -> list[str]:
    """Mirror the host's merged-/usr links (or directories) for /bin, /lib, /lib64, /sbin."""
    args: list[str] = []
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    return args


def bwrap_arguments(
    runtime: SandboxRuntime,
    workdir: Path,
    limits: SandboxLimits,
    env: Mapping[str, str],
    fds: Mapping[str, int],
    channel: Path | None = None,
) -> list[str]:
    """The bwrap command line; ``fds`` holds the descriptors bwrap and the bootstrap use."""
    args = [
        bwrap_path(),
        "--unshare-all", "--unshare-user", "--disable-userns",
        "--die-with-parent", "--new-session", "--clearenv",
        "--uid", str(INNER_UID), "--gid", str(INNER_UID),
        "--hostname", "omegraph-sandbox",
        "--ro-bind", "/usr", "/usr",
        *_root_links(),
        "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache",
    ]
    if Path("/etc/localtime").exists():
        args += ["--ro-bind", "/etc/localtime", "/etc/localtime"]
    site = []
    for index, directory in enumerate(runtime.site_packages):
        site.append(f"{SITE_ROOT}/{index}")
        args += ["--ro-bind", str(directory), site[-1]]
    args += [
        "--proc", "/proc",
        "--dev", "/dev",
        # bwrap's /dev is an unbounded tmpfs: it is made read-only below, and the
        # shared memory that multiprocessing's locks need gets a tmpfs of its own.
        "--size", str(limits.shm_bytes), "--tmpfs", "/dev/shm",  # noqa: S108 - private
        # A tmpfs is memory that RLIMIT_AS does not count: its size is capped here.
        "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp",  # noqa: S108 - private
        "--bind", str(workdir), "/work",
        "--perms", "0444", "--ro-bind-data", str(fds["script"]), SCRIPT_PATH,
        "--perms", "0444", "--ro-bind-data", str(fds["inputs"]), INPUTS_PATH,
        # A read-only mount does not stop connect() to a socket on it.
        *(["--ro-bind", str(channel), CHANNEL_PATH] if channel is not None else []),
        # bwrap's root is a tmpfs that the script could otherwise fill with files
        # (memory that no rlimit counts). Remounts do not recurse: /work, /tmp and
        # /dev/shm stay writable.
        "--remount-ro", "/",
        "--remount-ro", "/dev",
        "--chdir", "/work",
        "--seccomp", str(fds["seccomp"]),
    ]
    channel_env = {"OMEGRAPH_CHANNEL": CHANNEL_PATH} if channel is not None else {}
    for key, value in {**BASE_ENV, **channel_env, **env}.items():
        args += ["--setenv", key, value]
    bootstrap = _BOOTSTRAP.format(site=site, script=SCRIPT_PATH, exit_memory=EXIT_MEMORY,
                                  started=fds["started"])
    # -I: ignore PYTHON* variables and the user site; -S: no site module, so no .pth
    # file of the bound site-packages runs; -B: read-only anyway; -u: output reaches us
    # even when the script is killed mid-way.
    args += ["--", str(runtime.python), "-I", "-S", "-B", "-u", "-c", bootstrap]
    return args


def _rlimit_setter(limits: SandboxLimits) -> Callable[[], None]:
    def apply() -> None:
        # Runs in the child after Popen switched uid, just before exec(bwrap).
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        # SIGXCPU at the soft limit; the kernel's SIGKILL one second later if ignored.
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _memfd(name: str, data: bytes) -> int:
    descriptor = os.memfd_create(name, 0)  # not CLOEXEC: bwrap reads it
    os.write(descriptor, data)
    os.lseek(descriptor, 0, os.SEEK_SET)
    return descriptor


def _wait(pid: int, deadline: float) -> int | None:
    """Wait for ``pid`` until ``deadline``; its wait status, or None on time-out."""
    while True:
        reaped, status = os.waitpid(pid, os.WNOHANG)
        if reaped:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def _killed_reason(code: int) -> str | None:
    """Why the script ended, read from the exit status bwrap passed on.

    bwrap exits with 128 + N when the script died of signal N. The script's CPU time
    cannot be measured from here (bwrap's monitor does not reap the sandbox's pid 1, so
    its rusage never reaches us): SIGXCPU is the CPU limit, SIGKILL may be the CPU
    limit's hard stop or the kernel's out-of-memory killer.
    """
    if code == EXIT_MEMORY:
        return "memory"
    if code <= 128:
        return None
    number = code - 128
    if number == signal.SIGXCPU:
        return "cpu_time"
    try:
        return f"signal {signal.Signals(number).name}"
    except ValueError:
        return f"signal {number}"


def run_sandboxed(
    script_path: Path,
    *,
    workdir: Path,
    inputs_json: str,
    limits: SandboxLimits | None = None,
    runtime: SandboxRuntime | None = None,
    env: Mapping[str, str] | None = None,
    uids: range = DEFAULT_UIDS,
    channel: Path | None = None,
) -> SandboxResult:
    """Run ``script_path`` in the sandbox with ``workdir`` as its writable ``/work``.

    ``workdir`` must be reachable by an unprivileged uid (every parent ``o+x``); it is
    handed to the run's uid, one of ``uids`` that no other run holds (when this process
    is root). The script reads its inputs from ``$OMEGRAPH_INPUTS``.
    ``channel`` is the listening socket of a :class:`sandbox.channel.Channel` inside
    ``workdir``: it is handed to the run's uid (mode 0600) and bound at ``CHANNEL_PATH``,
    which ``$OMEGRAPH_CHANNEL`` names.
    Raises :class:`SandboxUnavailable` or :class:`SandboxSetupError` when the script
    could not be started; anything the script does is reported in the result.

    Blocks until the script ends. bwrap dies with the *thread* that started it
    (``--die-with-parent``), which is why this never hands the wait to another thread.
    """
    bwrap_path()  # fail before touching anything when bwrap is missing
    limits = limits or SandboxLimits()
    runtime = runtime or default_runtime()
    workdir = workdir.resolve()
    if not all(parent.stat().st_mode & 0o001 for parent in workdir.parents):
        raise SandboxUnavailable(f"{workdir}: a parent directory is not traversable (o+x)")
    if channel is not None:
        channel = channel.absolute()
        if not channel.parent.resolve().is_relative_to(workdir) or channel.is_symlink():
            raise ValueError(f"the channel {channel} must be a socket inside {workdir}")
    script = script_path.read_bytes()
    with sandbox_user(uids) as user:
        if user.switch:
            os.chown(workdir, user.uid, user.gid)
            if channel is not None:
                os.chown(channel, user.uid, user.gid)
        os.chmod(workdir, 0o700)
        if channel is not None:
            os.chmod(channel, 0o600)
        return _launch(runtime, workdir, limits, env or {}, script, inputs_json, user,
                       channel)


def _launch(
    runtime: SandboxRuntime,
    workdir: Path,
    limits: SandboxLimits,
    env: Mapping[str, str],
    script: bytes,
    inputs_json: str,
    user: SandboxUser,
    channel: Path | None = None,
) -> SandboxResult:
    started_read, started_write = os.pipe()
    fds = {
        "seccomp": _memfd("seccomp", build_filter()),
        "script": _memfd("script", script),
        "inputs": _memfd("inputs", inputs_json.encode()),
        "started": started_write,
    }
    started = time.monotonic()
    try:
        process = subprocess.Popen(  # noqa: S603 - argv built above, no shell
            bwrap_arguments(runtime, workdir, limits, env, fds, channel),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=tuple(fds.values()), process_group=0, close_fds=True,
            preexec_fn=_rlimit_setter(limits),
            user=user.uid if user.switch else None,
            group=user.gid if user.switch else None,
            extra_groups=[] if user.switch else None,
        )
    except BaseException:
        os.close(started_read)
        raise
    finally:
        for descriptor in fds.values():
            os.close(descriptor)
    assert process.stdout is not None and process.stderr is not None
    out = CappedReader(process.stdout, limits.max_output_bytes)
    err = CappedReader(process.stderr, limits.max_output_bytes)
    wait_status = _wait(process.pid, started + limits.wall_seconds)
    timed_out = wait_status is None
    if timed_out:
        os.killpg(process.pid, signal.SIGKILL)
        wait_status = _wait(process.pid, float("inf"))
    assert wait_status is not None
    process.returncode = os.waitstatus_to_exitcode(wait_status)
    sweep_processes(user)
    started_script = _read_available(started_read) == b"1"
    out.join(5)
    err.join(5)
    if not started_script and not timed_out:
        raise SandboxSetupError(f"the sandbox could not start the script: {err.text().strip()}")
    return SandboxResult(
        exit_code=process.returncode,
        stdout=out.text(),
        stderr=err.text(),
        timed_out=timed_out,
        killed_reason="wall_time" if timed_out else _killed_reason(process.returncode),
        duration=time.monotonic() - started,
        stdout_cut=out.dropped,
        stderr_cut=err.dropped,
    )


def _read_available(descriptor: int) -> bytes:
    """What the pipe holds, without waiting for writers that may still hold it open."""
    os.set_blocking(descriptor, False)
    data = b""
    try:
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(descriptor, 4096):
                data += chunk
    finally:
        os.close(descriptor)
    return data


__all__ = [
    "SandboxLimits",
    "SandboxResult",
    "SandboxSetupError",
    "SandboxUnavailable",
    "run_sandboxed",
]
