"""Misbehaving scripts are stopped and reported, and harm nothing (real bwrap, real processes)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from sandbox.launcher import BASE_ENV, EXIT_MEMORY, SandboxSetupError, run_sandboxed
from sandbox.runtime import SandboxRuntime, SandboxUnavailable
from tests.sandbox.conftest import FAST_LIMITS, TEST_UID, Runner

REPOSITORY = Path(__file__).resolve().parents[2]


def sandbox_processes_alive() -> list[int]:
    """Non-zombie processes of the tests' sandbox uid."""
    alive = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            uid = entry.stat().st_uid
            state = Path(f"/proc/{entry.name}/stat").read_bytes().rpartition(b")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if uid == TEST_UID and state != b"Z":
            alive.append(int(entry.name))
    return alive


def test_a_normal_script_gets_its_inputs_and_writes_to_its_work_dir(
    run: Runner, workdir: Path
) -> None:
    result = run(
        """
        import json, os
        import numpy as np
        inputs = json.load(open(os.environ["OMEGRAPH_INPUTS"]))
        total = int(np.asarray(inputs["values"]).sum())
        with open("/work/result.json", "w") as out:
            json.dump({"total": total, "cwd": os.getcwd()}, out)
        print("done", total)
        """,
        inputs_json=json.dumps({"values": [1, 2, 3]}),
    )

    assert (result.exit_code, result.killed_reason, result.timed_out) == (0, None, False)
    assert result.stdout == "done 6\n"
    assert json.loads((workdir / "result.json").read_text()) == {"total": 6, "cwd": "/work"}


def test_an_exception_is_reported_with_its_traceback(run: Runner) -> None:
    result = run("raise ValueError('bad input')")

    assert (result.exit_code, result.killed_reason) == (1, None)
    assert "ValueError: bad input" in result.stderr


def test_an_endless_loop_is_stopped_by_the_cpu_limit(run: Runner) -> None:
    result = run("while True:\n    pass\n", limits=replace(FAST_LIMITS, cpu_seconds=1))

    assert result.killed_reason == "cpu_time"
    assert not result.timed_out
    assert result.duration < 5


def test_a_sleeping_script_is_stopped_by_the_wall_clock(run: Runner) -> None:
    result = run("import time\ntime.sleep(1000)\n",
                 limits=replace(FAST_LIMITS, wall_seconds=1.5))

    assert result.timed_out
    assert result.killed_reason == "wall_time"
    assert 1.5 <= result.duration < 4
    assert sandbox_processes_alive() == []


@pytest.mark.parametrize(
    "bomb",
    [
        "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 1024**2))\n",
        "import numpy as np\nnp.ones(10**10)\n",
    ],
    ids=["python-objects", "numpy"],
)
def test_a_memory_bomb_is_stopped_and_reported(run: Runner, bomb: str) -> None:
    result = run(bomb)

    assert (result.exit_code, result.killed_reason) == (EXIT_MEMORY, "memory")
    assert "exceeded its memory limit" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="RLIMIT_NPROC per run needs a uid of its own")
def test_a_fork_bomb_is_contained_and_the_host_is_fine(run: Runner) -> None:
    result = run(
        """
        import errno, os, time
        forks = 0
        while True:
            try:
                pid = os.fork()
            except OSError as error:
                failure = error.errno
                break
            forks += 1
            if pid == 0:
                forks = 0  # children keep forking too
        if forks:
            # One write per line: print's separate writes interleave between processes.
            os.write(1, f"forks {forks} {errno.errorcode[failure]}\\n".encode())
        time.sleep(0.3)
        """
    )

    assert result.exit_code == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines and {failure for _, _, failure in lines} == {"EAGAIN"}
    assert sum(int(count) for _, count, _ in lines) < FAST_LIMITS.max_processes
    assert sandbox_processes_alive() == []
    assert subprocess.run(["/bin/true"], check=False).returncode == 0


def test_the_network_is_out_of_reach(run: Runner) -> None:
    result = run(
        """
        import asyncio, errno, socket
        def attempt(action):
            try:
                action()
            except OSError as error:
                return errno.errorcode.get(error.errno, str(error))
            return "connected"
        print("tcp", attempt(lambda: socket.create_connection(("127.0.0.1", 5432), timeout=1)))
        for family in ("AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"):
            print(family, attempt(lambda: socket.socket(getattr(socket, family))))
        # AF_UNIX stays: asyncio's event loop is built on a socketpair.
        print("asyncio", asyncio.run(asyncio.sleep(0, result="ok")))
        """
    )

    assert result.exit_code == 0, result.stderr
    lines = dict(line.split() for line in result.stdout.splitlines())
    assert lines == {
        "tcp": "EAFNOSUPPORT",
        "AF_INET": "EAFNOSUPPORT",
        "AF_INET6": "EAFNOSUPPORT",
        "AF_NETLINK": "EAFNOSUPPORT",
        "AF_PACKET": "EAFNOSUPPORT",
        "asyncio": "ok",
    }


def test_host_files_and_other_work_dirs_are_not_visible(run: Runner, sandbox_base: Path) -> None:
    other = sandbox_base / "someone-else"
    other.mkdir()
    (other / "secret.txt").write_text("secret")
    paths = ["/etc/shadow", "/etc/passwd", "/root", str(REPOSITORY),
             str(other / "secret.txt"), "/home", "/var", "/proc/1/root/etc/shadow"]
    result = run(
        f"""
        import os
        for path in {paths!r}:
            print(path, os.path.exists(path))
        print("pids", len([p for p in os.listdir("/proc") if p.isdigit()]))
        print("unshare", os.system("unshare --user true 2>/dev/null") != 0)
        """
    )

    assert result.exit_code == 0, result.stderr
    seen = dict(line.rsplit(" ", 1) for line in result.stdout.splitlines())
    assert seen == {**{path: "False" for path in paths}, "pids": seen["pids"], "unshare": "True"}
    assert int(seen["pids"]) <= 3  # bwrap's pid 1, python, and the shell of os.system


def test_only_work_and_tmp_are_writable(run: Runner, workdir: Path) -> None:
    targets = ["/usr/evil", "/etc/evil", "/opt/omegraph/0/evil.py", "/run/omegraph/script.py",
               "/evil", "/dev/evil", "/work/ok", "/dev/shm/ok", "/tmp/ok"]  # noqa: S108
    result = run(
        f"""
        for path in {targets!r}:
            try:
                with open(path, "w") as handle:
                    handle.write("x")
                print(path, "written")
            except OSError as error:
                print(path, "refused")
        """
    )

    assert result.exit_code == 0, result.stderr
    written = dict(line.split() for line in result.stdout.splitlines())
    assert written == {**{path: "refused" for path in targets[:-3]},
                       **{path: "written" for path in targets[-3:]}}
    assert (workdir / "ok").read_text() == "x"


def test_file_size_and_tmpfs_space_are_capped(run: Runner) -> None:
    limits = replace(FAST_LIMITS, max_file_bytes=2 * 1024**2, tmp_bytes=3 * 1024**2,
                     shm_bytes=1024**2)
    result = run(
        """
        import errno
        for path, size in (("/work/big", 3 * 1024**2), ("/tmp/a", 1536 * 1024),
                           ("/tmp/b", 1792 * 1024), ("/dev/shm/c", 1536 * 1024)):
            try:
                with open(path, "wb") as handle:
                    handle.write(b"x" * size)
                print(path, "ok")
            except OSError as error:
                print(path, errno.errorcode[error.errno])
        """,
        limits=limits,
    )

    assert result.stdout.split() == [
        "/work/big", "EFBIG", "/tmp/a", "ok", "/tmp/b", "ENOSPC",  # noqa: S108 - in the sandbox
        "/dev/shm/c", "ENOSPC"]  # noqa: S108


def test_a_flood_of_output_is_capped_keeping_the_head(run: Runner) -> None:
    result = run("import sys\nsys.stdout.write('head' + 'x' * 10**7)\n"
                 "print('err', file=sys.stderr)")

    assert result.exit_code == 0
    assert result.stdout.startswith("headxxx")
    assert result.stdout_cut == 4 + 10**7 - FAST_LIMITS.max_output_bytes
    assert f"output cut: {result.stdout_cut} more bytes" in result.stdout
    assert (result.stderr, result.stderr_cut) == ("err\n", 0)


def test_the_environment_holds_only_what_is_passed(run: Runner) -> None:
    result = run("import json, os\nprint(json.dumps(dict(os.environ)))",
                 env={"OMEGRAPH_JOB": "Job:7"})

    assert json.loads(result.stdout) == {**BASE_ENV, "OMEGRAPH_JOB": "Job:7"}


def test_a_missing_bwrap_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, workdir: Path, tmp_path: Path
) -> None:
    monkeypatch.setattr("sandbox.launcher.shutil.which", lambda name: None)
    script = tmp_path / "script.py"
    script.write_text("print('hi')")

    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        run_sandboxed(script, workdir=workdir, inputs_json="{}")


def test_a_work_dir_the_sandbox_cannot_reach_is_refused(
    runtime: SandboxRuntime, tmp_path: Path
) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    tmp_path.chmod(0o700)
    script = tmp_path / "script.py"
    script.write_text("print('hi')")

    with pytest.raises(SandboxUnavailable, match="not traversable"):
        run_sandboxed(script, workdir=hidden, inputs_json="{}", runtime=runtime)


def test_a_sandbox_that_cannot_be_built_is_a_setup_error(
    run: Runner, runtime: SandboxRuntime
) -> None:
    broken = replace(runtime, site_packages=(Path("/nonexistent/site-packages"),))

    with pytest.raises(SandboxSetupError, match="/nonexistent/site-packages"):
        run("print('hi')", runtime=broken)


def test_exit_works_as_in_a_normal_interpreter(run: Runner) -> None:
    result = run("exit(3)")

    assert (result.exit_code, result.killed_reason) == (3, None)


def test_no_descriptor_of_the_launcher_leaks_into_the_script(run: Runner) -> None:
    result = run("import os\nprint(sorted(os.listdir('/proc/self/fd')))")

    # 3 is the directory listdir itself opened.
    assert result.stdout.strip() == "['0', '1', '2', '3']"
