"""The channel's framing, shared by the worker (:mod:`sandbox.channel`) and scripts.

A message is an 8-byte header (two big-endian unsigned 32-bit lengths: JSON, then raw
data), a UTF-8 JSON object, and the raw data: the bytes of one C-ordered array whose
dtype and shape the JSON carries under ``"array"``. Pixels never travel as JSON lists.

Requests are ``{"id": n, "kind": ..., ...arguments}``; replies are
``{"id": n, "ok": true, "result": ...}`` or ``{"id": n, "ok": false, "error": {"code",
"message"}, "fatal": bool}``. A fatal error (malformed, oversized, over budget) is the
last message of its connection.
"""

from __future__ import annotations

import json
import math
import socket
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

HEADER = struct.Struct("!II")
MAX_MESSAGE_BYTES = 16 * 1024**2  # JSON and data together, per message
# Little-endian (or byte-sized) numeric types only; other arrays are converted first.
DTYPES = frozenset({"|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f4", "<f8"})
MAX_DIMENSIONS = 5


class WireError(Exception):
    """The other side broke the protocol, or a message would exceed the size limit."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def dumps(message: dict[str, Any]) -> bytes:
    return json.dumps(message, allow_nan=False, separators=(",", ":")).encode()


def loads(raw: bytes) -> dict[str, Any]:
    try:
        message = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant,
                             parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError("malformed", f"the message is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("malformed", "the message is not a JSON object")
    return message


def frame(message: dict[str, Any], data: bytes | memoryview = b"",
          limit: int = MAX_MESSAGE_BYTES) -> tuple[bytes, bytes | memoryview]:
    """The header and JSON of a message, and its data; WireError when it is too big."""
    try:
        body = dumps(message)
    except (TypeError, ValueError) as exc:
        raise WireError("bad_value", f"not JSON-serialisable: {exc}") from None
    size = len(body) + len(data)
    if size > limit:
        raise WireError("too_large", f"a message of {size} bytes exceeds the limit of "
                                     f"{limit} bytes")
    return HEADER.pack(len(body), len(data)) + body, data


def send(sock: socket.socket, message: dict[str, Any], data: bytes | memoryview = b"",
         limit: int = MAX_MESSAGE_BYTES) -> None:
    head, payload = frame(message, data, limit)
    sock.sendall(head)
    if len(payload):
        sock.sendall(payload)


def recv_exact(sock: socket.socket, size: int,
               interrupted: Callable[[], bool] | None = None) -> bytes:
    """Exactly ``size`` bytes; EOFError when the peer closes first.

    With ``interrupted``, the socket is expected to have a time-out, on each of which
    ``interrupted()`` is asked whether to give up (InterruptedError).
    """
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        try:
            count = sock.recv_into(view[done:], size - done)
        except TimeoutError:
            if interrupted is not None and interrupted():
                raise InterruptedError("the channel is closing") from None
            continue
        if count == 0:
            raise EOFError(f"the connection closed after {done} of {size} bytes")
        done += count
    return bytes(buffer)


def receive(sock: socket.socket, limit: int = MAX_MESSAGE_BYTES,
            interrupted: Callable[[], bool] | None = None) -> tuple[dict[str, Any], bytes]:
    """One message: its JSON object and its data (EOFError on a clean close)."""
    head = recv_exact(sock, HEADER.size, interrupted)
    body_size, data_size = HEADER.unpack(head)
    if body_size + data_size > limit:
        raise WireError("too_large", f"a message of {body_size + data_size} bytes exceeds "
                                     f"the limit of {limit} bytes")
    message = loads(recv_exact(sock, body_size, interrupted))
    data = recv_exact(sock, data_size, interrupted) if data_size else b""
    return message, data


def array_header(array: np.ndarray) -> dict[str, Any]:
    return {"dtype": array.dtype.str, "shape": list(array.shape)}


def wire_array(array: Any) -> np.ndarray:
    """``array`` as a C-ordered array of a dtype the wire carries (or WireError)."""
    array = np.asarray(array)
    dtype = array.dtype
    if dtype.kind not in "uif" or dtype.itemsize > 8 or dtype.itemsize < 1:
        raise WireError("bad_value", f"arrays of {dtype} cannot be sent")
    if dtype.str not in DTYPES:
        dtype = dtype.newbyteorder("<")
        if dtype.str not in DTYPES:  # float16 and the like
            raise WireError("bad_value", f"arrays of {array.dtype} cannot be sent")
    return np.ascontiguousarray(array, dtype=dtype)


def array_from(header: Any, data: bytes) -> np.ndarray:
    """The array that ``data`` holds as described by ``header`` (WireError if it does not)."""
    if not isinstance(header, dict):
        raise WireError("bad_request", "an array needs a header with dtype and shape")
    dtype, shape = header.get("dtype"), header.get("shape")
    if dtype not in DTYPES:
        raise WireError("bad_request", f"unsupported dtype {dtype!r}")
    if (not isinstance(shape, list) or not 1 <= len(shape) <= MAX_DIMENSIONS
            or not all(type(n) is int and 0 < n < 2**31 for n in shape)):
        raise WireError("bad_request", f"bad shape {shape!r}")
    itemsize = np.dtype(dtype).itemsize
    if math.prod(shape) * itemsize != len(data):
        raise WireError("bad_request", f"{len(data)} bytes do not hold a {dtype} array "
                                       f"of shape {shape}")
    return np.frombuffer(data, dtype=dtype).reshape(shape)
