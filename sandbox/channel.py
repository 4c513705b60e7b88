"""The worker's end of the channel between a sandboxed script and the server.

The script has no network; :mod:`omegraph_script` (``sandbox/client``) reaches the server
only through the Unix socket a :class:`Channel` serves in the run's work directory, which
:func:`sandbox.launcher.run_sandboxed` (``channel=``) hands to the run's uid (mode 0600,
in a 0700 directory of that uid) and binds at ``/run/omegraph/channel``. Each request
is passed to a :class:`ChannelHandler`, which the job runner implements with a token
scoped to the job, so every call passes the normal permission checks.

The framing is :mod:`sandbox.client.omegraph_script._wire`: length-prefixed JSON, arrays
as raw bytes. One thread accepts connections and each connection gets a thread of its
own (at most ``max_connections``: a script's subprocesses may each connect), but the
handler is called for one request at a time, so it need not be thread-safe. A malformed or oversized
message, or one past the run's call budget, gets an error reply and its connection is
closed; the channel goes on serving the next connection. A handler that raises
:class:`HandlerError` sends that code and message to the script; any other exception
becomes an ``internal`` error (logged here, not shown to the script).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sandbox.client.omegraph_script import _wire

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = _wire.MAX_MESSAGE_BYTES
MAX_NAME_LENGTH = 255
MAX_PROGRESS_MESSAGE = 1000
_POLL_SECONDS = 0.2
_SEND_SECONDS = 60.0
_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


class HandlerError(Exception):
    """A refusal the script should see: e.g. ``forbidden``, ``not_found``, ``bad_request``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class Region:
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class PixelRequest:
    """One plane (or a region of it) of one image at one pyramid level."""

    image: str | int
    z: int
    c: int
    t: int
    level: int
    region: Region | None


class ChannelHandler(Protocol):
    """What the job runner implements, as the submitting user with the job's token."""

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The GraphQL response (``data`` and/or ``errors``) to pass to the script."""
        ...

    def read_pixels(self, request: PixelRequest) -> np.ndarray:
        """A 2-D array of the requested plane or region."""
        ...

    def create_image(self, name: str, dataset: str | int | None, array: np.ndarray) -> str:
        """The global id of the new image holding ``array`` (read-only; copy to keep)."""
        ...

    def progress(self, fraction: float, message: str | None) -> None: ...

    def output(self, name: str, value: Any) -> None: ...


class _Fatal(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def _integer(arguments: dict[str, Any], key: str, minimum: int = 0) -> int:
    value = arguments.get(key)
    if type(value) is not int or not minimum <= value < 2**31:
        raise HandlerError("bad_request", f"{key} must be an integer >= {minimum}")
    return value


def _name(arguments: dict[str, Any], key: str) -> str:
    value = arguments.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME_LENGTH:
        raise HandlerError("bad_request", f"{key} must be a string of 1 to "
                                          f"{MAX_NAME_LENGTH} characters")
    return value


def _object_id(value: Any, key: str, optional: bool = False) -> str | int | None:
    if value is None and optional:
        return None
    if isinstance(value, str) and 0 < len(value) <= MAX_NAME_LENGTH:
        return value
    if type(value) is int and 0 < value < 2**63:
        return value
    raise HandlerError("bad_request", f"{key} must be an id")


class Channel:
    """Serve ``handler`` on a Unix socket at ``socket_path`` until :meth:`close`.

    Use as a context manager around the run. ``max_calls`` bounds the requests of the
    whole run; a peer whose uid is neither this process's nor the socket file's owner
    (the run's uid, once the launcher handed it over) is refused.
    """

    def __init__(self, socket_path: Path, handler: ChannelHandler, *,
                 max_message_bytes: int = MAX_MESSAGE_BYTES, max_calls: int = 100_000,
                 max_connections: int = 8) -> None:
        self.socket_path = Path(socket_path)
        self.handler = handler
        self.max_message_bytes = max_message_bytes
        self.max_calls = max_calls
        self.max_connections = max_connections
        self.calls = 0
        self.refused = 0  # connections closed for a protocol error, budget or identity
        self._stop = threading.Event()
        self._handler_lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._workers_lock = threading.Lock()
        # AF_UNIX paths are limited to 107 bytes: keep work directories' paths short.
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._listener.bind(str(self.socket_path))
            # Before listen(), nobody can connect: the umask's mode does not matter.
            os.chmod(self.socket_path, 0o600)
            self._listener.listen(8)
            self._listener.settimeout(_POLL_SECONDS)
        except BaseException:
            self._listener.close()
            raise
        self._thread = threading.Thread(target=self._serve, name="omegraph-channel",
                                        daemon=True)
        self._thread.start()

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._workers_lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join()
        self._listener.close()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    # -- serving ---------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                logger.exception("the channel's socket failed")
                return
            with self._workers_lock:
                busy = len(self._workers) >= self.max_connections
                if not busy:
                    worker = threading.Thread(target=self._connection, args=(connection,),
                                              name="omegraph-channel-connection", daemon=True)
                    self._workers.add(worker)
                    worker.start()
            if busy:
                with connection:
                    self._refuse(connection, None, _Fatal(
                        "busy", f"at most {self.max_connections} connections at a time"))

    def _connection(self, connection: socket.socket) -> None:
        try:
            with connection:
                self._converse(connection)
        except Exception:
            # Never let one connection end the channel.
            logger.exception("a channel connection failed")
        finally:
            with self._workers_lock:
                self._workers.discard(threading.current_thread())

    def _peer_allowed(self, connection: socket.socket) -> bool:
        raw = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
        _, uid, _ = _PEERCRED.unpack(raw)
        if uid == os.geteuid():
            return True
        try:
            return bool(uid == self.socket_path.stat().st_uid)
        except OSError:
            return False

    def _converse(self, connection: socket.socket) -> None:
        connection.settimeout(_POLL_SECONDS)
        if not self._peer_allowed(connection):
            self._refuse(connection, None, _Fatal("forbidden", "not this run's channel"))
            return
        while not self._stop.is_set():
            request_id: Any = None
            try:
                request, data = _wire.receive(connection, self.max_message_bytes,
                                              self._stop.is_set)
                request_id = request.get("id")
                if type(request_id) is not int:
                    request_id = None
                with self._handler_lock:
                    self.calls += 1
                    if self.calls > self.max_calls:
                        raise _Fatal("budget",
                                     f"this run may make at most {self.max_calls} calls")
                    reply, reply_data = self._dispatch(request, data)
            except (EOFError, InterruptedError, ConnectionError):
                return
            except _wire.WireError as exc:
                self._refuse(connection, request_id, _Fatal(exc.code, exc.message))
                return
            except _Fatal as exc:
                self._refuse(connection, request_id, exc)
                return
            reply["id"] = request_id
            # sendall's time-out covers the whole message: give a slow reader time.
            connection.settimeout(_SEND_SECONDS)
            try:
                _wire.send(connection, reply, reply_data, self.max_message_bytes)
            except _wire.WireError as exc:
                # The handler's answer is too large (e.g. a plane): say so, and carry on.
                _wire.send(connection, {"id": request_id, "ok": False, "error": {
                    "code": exc.code, "message": exc.message + "; read a smaller region"}})
            except (OSError, ValueError):
                return
            connection.settimeout(_POLL_SECONDS)

    def _refuse(self, connection: socket.socket, request_id: Any, error: _Fatal) -> None:
        self.refused += 1
        logger.info("channel connection refused: %s: %s", error.code, error.message)
        connection.settimeout(_SEND_SECONDS)
        with contextlib.suppress(OSError, ValueError):
            _wire.send(connection, {"id": request_id, "ok": False, "fatal": True,
                                    "error": {"code": error.code, "message": error.message}})
            connection.shutdown(socket.SHUT_WR)

    def _dispatch(self, request: dict[str, Any], data: bytes) -> tuple[dict[str, Any], bytes]:
        kind = request.get("kind")
        operation = self._operations.get(kind) if isinstance(kind, str) else None
        if operation is None:
            return _error("bad_request", f"unknown request kind {kind!r}"), b""
        try:
            result, reply_data = operation(self, request, data)
        except HandlerError as exc:
            return _error(exc.code, exc.message), b""
        except _wire.WireError as exc:
            return _error(exc.code, exc.message), b""
        except Exception:
            logger.exception("the channel handler failed on %s", kind)
            return _error("internal", "the server failed on this request"), b""
        return {"ok": True, "result": result}, reply_data

    # -- the request kinds -----------------------------------------------------------

    def _graphql(self, request: dict[str, Any], _: bytes) -> tuple[Any, bytes]:
        query, variables = request.get("query"), request.get("variables") or {}
        if not isinstance(query, str) or not query.strip():
            raise HandlerError("bad_request", "query must be a non-empty string")
        if not isinstance(variables, dict):
            raise HandlerError("bad_request", "variables must be an object")
        return self.handler.graphql(query, variables), b""

    def _read_pixels(self, request: dict[str, Any], _: bytes) -> tuple[Any, bytes]:
        region = request.get("region")
        if region is not None:
            if not isinstance(region, dict):
                raise HandlerError("bad_request", "region must be an object or null")
            region = Region(x=_integer(region, "x"), y=_integer(region, "y"),
                            w=_integer(region, "w", 1), h=_integer(region, "h", 1))
        pixel_request = PixelRequest(
            image=_object_id(request.get("image"), "image"),  # type: ignore[arg-type]
            z=_integer(request, "z"), c=_integer(request, "c"), t=_integer(request, "t"),
            level=_integer(request, "level"), region=region,
        )
        array = _wire.wire_array(self.handler.read_pixels(pixel_request))
        return {"array": _wire.array_header(array)}, array.tobytes()

    def _create_image(self, request: dict[str, Any], data: bytes) -> tuple[Any, bytes]:
        name = _name(request, "name")
        dataset = _object_id(request.get("dataset"), "dataset", optional=True)
        array = _wire.array_from(request.get("array"), data)
        if array.ndim < 2:
            raise HandlerError("bad_request", "an image needs at least 2 dimensions (y, x)")
        image = self.handler.create_image(name, dataset, array)
        return {"image": image}, b""

    def _progress(self, request: dict[str, Any], _: bytes) -> tuple[Any, bytes]:
        fraction, message = request.get("fraction"), request.get("message")
        if (not isinstance(fraction, int | float) or isinstance(fraction, bool)
                or not math.isfinite(fraction) or not 0 <= fraction <= 1):
            raise HandlerError("bad_request", "fraction must be a number from 0 to 1")
        if message is not None and (not isinstance(message, str)
                                    or len(message) > MAX_PROGRESS_MESSAGE):
            raise HandlerError("bad_request", f"message must be a string of at most "
                                              f"{MAX_PROGRESS_MESSAGE} characters")
        self.handler.progress(float(fraction), message)
        return None, b""

    def _output(self, request: dict[str, Any], _: bytes) -> tuple[Any, bytes]:
        if "value" not in request:
            raise HandlerError("bad_request", "an output needs a value")
        self.handler.output(_name(request, "name"), request["value"])
        return None, b""

    _operations: dict[str, Callable[[Channel, dict[str, Any], bytes], tuple[Any, bytes]]] = {
        "graphql": _graphql,
        "read_pixels": _read_pixels,
        "create_image": _create_image,
        "progress": _progress,
        "output": _output,
    }


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


__all__ = ["Channel", "ChannelHandler", "HandlerError", "PixelRequest", "Region"]
