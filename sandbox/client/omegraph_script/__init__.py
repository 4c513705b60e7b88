"""The OMEGraph script API: what a sandboxed script imports to talk to the server.

The sandbox has no network; every call goes over the channel the worker serves at
``$OMEGRAPH_CHANNEL`` (a Unix socket), as the user who submitted the job and with that
user's permissions::

    import omegraph_script as og

    image = og.inputs()["image"]
    plane = og.read_plane(image, z=0, c=1)            # a numpy array
    new_id = og.create_image("smoothed", plane * 2)    # "Image:..."
    og.progress(0.5, "half way")
    og.set_output("result", new_id)

Errors: :class:`ServerError` when the server refused a call (its ``code`` and
``message``), :class:`ChannelError` when the channel itself failed (no channel, a
message too large, a broken connection). A message, pixels included, may be at most
16 MiB: read large planes by ``region``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from typing import Any

import numpy as np

from . import _wire

__all__ = [
    "ChannelError",
    "ServerError",
    "create_image",
    "graphql",
    "inputs",
    "progress",
    "read_plane",
    "set_output",
]


class ChannelError(RuntimeError):
    """The channel to the server is missing, broken, or refused a malformed message."""

    def __init__(self, message: str, code: str = "channel") -> None:
        self.code = code
        self.message = message
        super().__init__(message)


class ServerError(RuntimeError):
    """The server refused a call; ``code`` says why (e.g. ``forbidden``, ``not_found``)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


_lock = threading.Lock()
_connection: socket.socket | None = None
_next_id = 0
_inputs: dict[str, Any] | None = None


def inputs() -> dict[str, Any]:
    """The script's inputs, as validated against its declaration (a fresh copy each time)."""
    global _inputs
    if _inputs is None:
        path = os.environ.get("OMEGRAPH_INPUTS")
        if not path:
            raise ChannelError("OMEGRAPH_INPUTS is not set: not running in the sandbox?")
        with open(path, encoding="utf-8") as source:
            loaded = json.load(source)
        if not isinstance(loaded, dict):
            raise ChannelError(f"{path} does not hold an object of inputs")
        _inputs = loaded
    copy: dict[str, Any] = json.loads(json.dumps(_inputs))
    return copy


def _connect() -> socket.socket:
    path = os.environ.get("OMEGRAPH_CHANNEL")
    if not path:
        raise ChannelError("OMEGRAPH_CHANNEL is not set: this run has no channel to the server")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise ChannelError(f"cannot reach the server's channel: {exc}") from None
    return sock


def _drop_connection() -> None:
    global _connection
    if _connection is not None:
        _connection.close()
        _connection = None


def _call(kind: str, data: bytes | memoryview = b"", **arguments: Any) -> tuple[Any, bytes]:
    """Send one request and wait for its reply: the result and any raw data."""
    global _connection, _next_id
    with _lock:
        _next_id += 1
        request = {"id": _next_id, "kind": kind, **arguments}
        try:
            head, payload = _wire.frame(request, data)
        except _wire.WireError as exc:
            raise ChannelError(exc.message, exc.code) from None
        if _connection is None:
            _connection = _connect()
        sock = _connection
        try:
            try:
                sock.sendall(head)
                if len(payload):
                    sock.sendall(payload)
            except OSError:
                pass  # the server may have closed after a reply saying why: read it
            reply, reply_data = _wire.receive(sock)
        except (OSError, EOFError) as exc:
            _drop_connection()
            raise ChannelError(f"the channel to the server broke: {exc}") from None
        except _wire.WireError as exc:
            _drop_connection()
            raise ChannelError(f"the server's reply was unreadable: {exc.message}") from None
        if reply.get("fatal"):
            _drop_connection()
    if reply.get("ok") is True:
        return reply.get("result"), reply_data
    error = reply.get("error")
    if not isinstance(error, dict):
        error = {}
    code, message = str(error.get("code", "error")), str(error.get("message", "no message"))
    if reply.get("fatal"):
        raise ChannelError(message, code)
    raise ServerError(code, message)


def graphql(query: str, **variables: Any) -> Any:
    """Run a GraphQL query or mutation as the submitting user; its ``data``.

    GraphQL errors raise :class:`ServerError` with the first error's message and its
    ``extensions.code`` (``graphql`` when it has none).
    """
    result, _ = _call("graphql", query=query, variables=variables)
    if not isinstance(result, dict):
        raise ChannelError("the server's GraphQL reply is not an object", "malformed")
    errors = result.get("errors")
    if errors:
        first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
        extensions = first.get("extensions") or {}
        code = extensions.get("code", "graphql") if isinstance(extensions, dict) else "graphql"
        raise ServerError(str(code), str(first.get("message", "GraphQL error")))
    return result.get("data")


def read_plane(image: str | int, z: int = 0, c: int = 0, t: int = 0, level: int = 0,
               region: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """One plane of ``image`` (or its ``region`` ``(x, y, width, height)``) as a 2-D array.

    ``level`` 0 is full resolution; higher levels are the pyramid's smaller ones.
    """
    arguments: dict[str, Any] = {"image": image, "z": z, "c": c, "t": t, "level": level,
                                 "region": None}
    if region is not None:
        x, y, width, height = (int(v) for v in region)
        arguments["region"] = {"x": x, "y": y, "w": width, "h": height}
    result, data = _call("read_pixels", **arguments)
    try:
        array = _wire.array_from(result.get("array") if isinstance(result, dict) else None,
                                 data)
    except _wire.WireError as exc:
        raise ChannelError(f"the server sent unreadable pixels: {exc.message}") from None
    return array.copy()  # writable, and no longer a view of the received bytes


def create_image(name: str, array: Any, dataset: str | int | None = None) -> str:
    """Store ``array`` as a new image (in ``dataset`` if given); the new image's id.

    A 2-D array is one plane (y, x); more dimensions follow the server's convention
    (t, c, z, y, x, leading ones optional).
    """
    try:
        pixels = _wire.wire_array(array)
    except _wire.WireError as exc:
        raise ChannelError(exc.message, exc.code) from None
    result, _ = _call("create_image", pixels.tobytes(), name=name,
                      dataset=dataset, array=_wire.array_header(pixels))
    if not isinstance(result, dict) or not isinstance(result.get("image"), str):
        raise ChannelError("the server's reply names no image", "malformed")
    image: str = result["image"]
    return image


def progress(fraction: float, message: str | None = None) -> None:
    """Tell the server how far the script is (``fraction`` from 0 to 1)."""
    _call("progress", fraction=float(fraction), message=message)


def set_output(name: str, value: Any) -> None:
    """Set the output ``name`` of this run to ``value`` (anything JSON can hold)."""
    _call("output", name=name, value=value)
