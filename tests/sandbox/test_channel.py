"""The channel between a sandboxed script and the server, over the real launcher and bwrap.

The handler is a fake of :class:`sandbox.channel.ChannelHandler`, our own boundary: the
job runner implements it with the job's token.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sandbox.channel import Channel, HandlerError, PixelRequest
from sandbox.client import omegraph_script as og
from sandbox.client.omegraph_script import _wire
from sandbox.runtime import SandboxRuntime
from tests.sandbox.conftest import TEST_UID, Runner

OTHER_UID = TEST_UID + 1_000_000  # past the tests' own uids: another run's


def reference_plane(z: int, c: int, t: int) -> np.ndarray:
    """What the fake server holds for Image:1: uint16 values spanning the whole range."""
    rng = np.random.default_rng(z * 100 + c * 10 + t)
    return rng.integers(0, 2**16, size=(48, 64), dtype=np.uint16)


class FakeHandler:
    def __init__(
        self, socket_path: Path | None = None, runtime: SandboxRuntime | None = None
    ) -> None:
        self.images: dict[str, np.ndarray] = {}
        self.requests: list[PixelRequest] = []
        self.created: list[tuple[str, str | int | None]] = []
        self.progress_reports: list[tuple[float, str | None]] = []
        self.outputs: dict[str, Any] = {}
        self.queries: list[tuple[str, dict[str, Any]]] = []
        self.other_uid_connect: str | None = None
        self.socket_owner_and_mode: tuple[int, int] | None = None
        self._socket_path = socket_path
        self._runtime = runtime

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.queries.append((query, variables))
        if "secret" in query:
            return {"data": None, "errors": [{"message": "not allowed to read it",
                                              "extensions": {"code": "FORBIDDEN"}}]}
        return {"data": {"image": {"id": variables.get("id"), "name": "cells.tif"}}}

    def read_pixels(self, request: PixelRequest) -> np.ndarray:
        self.requests.append(request)
        if request.image == "Image:1":
            plane = reference_plane(request.z, request.c, request.t)
        elif isinstance(request.image, str) and request.image in self.images:
            plane = self.images[request.image]
        else:
            raise HandlerError("not_found", f"no image {request.image}")
        if request.region is not None:
            r = request.region
            plane = plane[r.y:r.y + r.h, r.x:r.x + r.w]
        return plane

    def create_image(self, name: str, dataset: str | int | None, array: np.ndarray) -> str:
        image = f"Image:{100 + len(self.images)}"
        self.images[image] = array.copy()
        self.created.append((name, dataset))
        return image

    def progress(self, fraction: float, message: str | None) -> None:
        self.progress_reports.append((fraction, message))
        if self._socket_path is not None and self._runtime is not None:
            status = self._socket_path.stat()
            self.socket_owner_and_mode = (status.st_uid, stat.S_IMODE(status.st_mode))
            # While the script runs: another run's uid tries this run's socket.
            probe = subprocess.run(
                [str(self._runtime.python), "-I", "-S", "-c",
                 "import socket, sys\n"
                 "s = socket.socket(socket.AF_UNIX)\n"
                 "try:\n    s.connect(sys.argv[1]); print('connected')\n"
                 "except OSError as e:\n    print(type(e).__name__)\n",
                 str(self._socket_path)],
                user=OTHER_UID, group=OTHER_UID, extra_groups=[], capture_output=True,
                text=True, timeout=10, check=False,
            )
            self.other_uid_connect = probe.stdout.strip() or probe.stderr.strip()

    def output(self, name: str, value: Any) -> None:
        if name == "broken":
            raise RuntimeError("database password is hunter2")
        self.outputs[name] = value


SCRIPT = """
import errno, json, os, socket, struct
import numpy as np
import omegraph_script as og
from omegraph_script import _wire

out = {"inputs": og.inputs()}
out["data"] = og.graphql("query($id: ID!) { image(id: $id) { id name } }", id="Image:1")
try:
    og.graphql("{ secret }")
except og.ServerError as e:
    out["forbidden"] = [e.code, e.message]

plane = og.read_plane("Image:1", z=1, c=2, t=0)
np.save("/work/plane.npy", plane)
out["plane"] = [plane.dtype.str, list(plane.shape)]
region = og.read_plane("Image:1", z=1, c=2, region=(5, 7, 10, 3))
out["region_matches"] = bool((region == plane[7:10, 5:15]).all())
try:
    og.read_plane("Image:404")
except og.ServerError as e:
    out["missing"] = e.code

rng = np.random.default_rng(7)
u16 = rng.integers(0, 2**16, size=(33, 17), dtype=np.uint16)
f32 = rng.standard_normal((2, 9, 11)).astype(np.float32)
f32[0, 0, :3] = [np.nan, np.inf, -0.0]
u16_id = og.create_image("u16", u16, dataset="Dataset:3")
f32_id = og.create_image("f32", f32)
out["created"] = [u16_id, f32_id]
back16 = og.read_plane(u16_id)
out["u16_exact"] = back16.dtype == np.uint16 and back16.tobytes() == u16.tobytes()
np.save("/work/u16.npy", u16)
np.save("/work/f32.npy", f32)
try:
    og.create_image("huge", np.zeros((3000, 3000), np.float64))
except og.ChannelError as e:
    out["huge"] = e.code

og.progress(0.5, "half way")
og.set_output("answer", {"value": 42, "ids": [u16_id]})
try:
    og.set_output("broken", 1)
except og.ServerError as e:
    out["internal"] = [e.code, e.message]

def raw(payload):
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.environ["OMEGRAPH_CHANNEL"])
    s.sendall(payload)
    reply, _ = _wire.receive(s)
    try:  # closed; a reset when the worker left some of our bytes unread
        closed = s.recv(1) == b""
    except ConnectionResetError:
        closed = True
    s.close()
    return [reply["error"]["code"], reply["fatal"], closed]

out["oversized"] = raw(struct.pack("!II", 17 * 1024**2, 0))
out["garbage"] = raw(struct.pack("!II", 5, 0) + b"\\xff{]!x")
out["http"] = raw(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
out["not_object"] = raw(struct.pack("!II", 2, 0) + b"[]")
# The worker keeps serving: a new connection (after the library's own one) works.
og._drop_connection()
og.progress(1.0)

try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    out["inet"] = "opened"
except OSError as e:
    out["inet"] = errno.errorcode[e.errno]

with open("/work/result.json", "w") as f:
    json.dump(out, f)
"""


def test_a_script_uses_every_request_kind_through_the_sandbox(
    run: Runner, workdir: Path, runtime: SandboxRuntime
) -> None:
    socket_path = workdir / ".omegraph-channel"
    root = os.geteuid() == 0
    handler = FakeHandler(socket_path if root else None, runtime)

    with Channel(socket_path, handler) as channel:
        result = run(SCRIPT, inputs_json=json.dumps({"threshold": 3}), channel=socket_path)

    assert result.exit_code == 0, result.stderr
    out = json.loads((workdir / "result.json").read_text())
    assert out["inputs"] == {"threshold": 3}
    assert out["data"] == {"image": {"id": "Image:1", "name": "cells.tif"}}
    assert handler.queries[0][1] == {"id": "Image:1"}
    assert out["forbidden"] == ["FORBIDDEN", "not allowed to read it"]
    # A plane of the server reaches the script bit-exactly, as raw bytes.
    assert out["plane"] == ["<u2", [48, 64]]
    sent = np.load(workdir / "plane.npy")
    assert sent.tobytes() == reference_plane(1, 2, 0).tobytes()
    assert out["region_matches"] is True
    assert handler.requests[1].region is not None and handler.requests[1].region.w == 10
    assert out["missing"] == "not_found"
    # Arrays the script creates reach the server bit-exactly (NaN, inf and -0.0 too).
    assert out["created"] == ["Image:100", "Image:101"]
    assert handler.created == [("u16", "Dataset:3"), ("f32", None)]
    u16, f32 = np.load(workdir / "u16.npy"), np.load(workdir / "f32.npy")
    assert handler.images["Image:100"].dtype == np.uint16
    assert handler.images["Image:100"].tobytes() == u16.tobytes()
    assert handler.images["Image:101"].dtype == np.float32
    assert handler.images["Image:101"].shape == (2, 9, 11)
    assert handler.images["Image:101"].tobytes() == f32.tobytes()
    assert out["u16_exact"] is True
    assert out["huge"] == "too_large"  # refused by the library before sending
    assert handler.progress_reports == [(0.5, "half way"), (1.0, None)]
    assert handler.outputs == {"answer": {"value": 42, "ids": ["Image:100"]}}
    # A handler's crash is reported without its details.
    assert out["internal"] == ["internal", "the server failed on this request"]
    # Bad messages get an error and their connection is closed; later calls still work.
    assert out["oversized"] == ["too_large", True, True]
    assert out["garbage"] == ["malformed", True, True]
    assert out["http"] == ["too_large", True, True]
    assert out["not_object"] == ["malformed", True, True]
    assert channel.refused == 4
    assert out["inet"] == "EAFNOSUPPORT"  # the seccomp filter, channel or not
    if root:  # the run's uid alone (and the worker) can reach the socket
        assert handler.socket_owner_and_mode == (TEST_UID, 0o600)
        assert handler.other_uid_connect == "PermissionError"
    assert not socket_path.exists()


def test_the_script_library_reports_the_servers_refusals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the sandbox: bad arguments, the call budget and a closed channel."""
    socket_path = tmp_path / "channel"
    handler = FakeHandler()
    monkeypatch.setenv("OMEGRAPH_CHANNEL", str(socket_path))
    with Channel(socket_path, handler, max_calls=4) as channel:
        with pytest.raises(og.ServerError, match="fraction") as refused:
            og.progress(1.5)
        assert refused.value.code == "bad_request"
        with pytest.raises(og.ServerError, match="unknown request kind"):
            og._call("drop_tables")
        with pytest.raises(og.ServerError, match="at least 2 dimensions"):
            og.create_image("line", np.arange(4, dtype=np.uint8))
        og.progress(0.1)
        with pytest.raises(og.ChannelError, match="at most 4 calls") as budget:
            og.progress(0.2)
        assert budget.value.code == "budget"
        assert channel.calls == 5
    assert handler.progress_reports == [(0.1, None)]
    with pytest.raises(og.ChannelError, match="cannot reach"):
        og.progress(0.3)
    og._drop_connection()


def test_the_wire_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(_wire.WireError, match="cannot be sent"):
        _wire.wire_array(np.array(["a"]))
    big_endian = _wire.wire_array(np.arange(3, dtype=">u2"))
    assert big_endian.dtype.str == "<u2" and big_endian.tolist() == [0, 1, 2]
    with pytest.raises(_wire.WireError, match="do not hold"):
        _wire.array_from({"dtype": "<u2", "shape": [2, 2]}, b"\0" * 6)
    with pytest.raises(_wire.WireError, match="not JSON"):
        _wire.loads(b'{"a": NaN}')
    with pytest.raises(_wire.WireError, match="exceeds"):
        _wire.frame({"a": 1}, b"\0" * 100, limit=50)
    a, b = socket.socketpair()
    with a, b:
        _wire.send(a, {"kind": "x"}, b"\1\2")
        assert _wire.receive(b) == ({"kind": "x"}, b"\1\2")
