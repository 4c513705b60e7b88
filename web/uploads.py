"""``PUT /uploads/{job}/{index}``: the bytes of one file of an import, streamed to staging.

Restartable and resumable: ``HEAD`` answers ``Upload-Offset`` (bytes held); a ``PUT`` with
``Upload-Offset: N`` (N = the bytes held) appends, one without starts the file again. A
dropped connection keeps every whole chunk received. The body is never held in memory:
chunks are written as they come, at most ``BUFFER`` bytes at a time.
"""

from __future__ import annotations

import asyncio
import errno

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from resolvers.errors import DomainError
from resolvers.imports.uploads import record_received, slot_sizes
from store.repository.staging import OffsetMismatch, StagedWriter, Staging
from web.errors import domain_error_response, error_response, unauthenticated

BUFFER = 1 << 20


async def upload(request: Request) -> Response:
    state = request.scope["state"]
    actor = state["auth"].actor
    if actor is None:
        return unauthenticated()
    if actor.read_only:
        return error_response(403, "PERMISSION_DENIED", "this token is read-only")
    db = state["db"]
    job_id, index = request.path_params["job"], request.path_params["index"]
    try:
        recorded, size = await db.run(slot_sizes, actor, job_id, index)
    except DomainError as exc:
        return domain_error_response(exc)
    staging = Staging(request.app.state.settings.repository_dir)
    held = await asyncio.to_thread(staging.held, job_id, index, recorded)
    if request.method == "HEAD":
        return Response(headers={"Upload-Offset": str(held), "Upload-Length": str(size),
                                 "Cache-Control": "no-store"})
    offset_header = request.headers.get("upload-offset", "0")
    if not offset_header.isdigit() or int(offset_header) not in (0, held):
        return _mismatch(held)
    offset = int(offset_header)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and offset + int(declared) > size:
        return error_response(413, "REQUEST_TOO_LARGE",
                              f"the file was declared as {size} bytes")
    try:
        writer = await asyncio.to_thread(staging.writer, job_id, index, offset, size)
    except OffsetMismatch as exc:
        return _mismatch(exc.expected)
    failure = await _receive(request, writer)
    held = await asyncio.to_thread(writer.close)
    try:
        ready = await db.run(record_received, actor, job_id, index, held)
    except DomainError as exc:
        return domain_error_response(exc)
    if ready:
        request.app.state.jobs.enqueue(job_id, "import")
    if failure is not None:
        return failure
    return JSONResponse({"received": held, "size": size, "complete": held == size,
                         "importQueued": ready}, headers={"Upload-Offset": str(held)})


async def _receive(request: Request, writer: StagedWriter) -> Response | None:
    """Stream the body into ``writer``; a response when it had to stop early."""
    buffer = bytearray()
    try:
        async for chunk in request.stream():
            buffer += chunk
            if len(buffer) >= BUFFER:
                await asyncio.to_thread(writer.write, bytes(buffer))
                buffer.clear()
        if buffer:
            await asyncio.to_thread(writer.write, bytes(buffer))
    except ClientDisconnect:
        return error_response(400, "BAD_REQUEST", "the connection closed mid-upload")
    except ValueError:
        return error_response(413, "REQUEST_TOO_LARGE",
                              f"the file was declared as {writer.limit} bytes")
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            return error_response(507, "INSUFFICIENT_STORAGE", "the server's disk is full")
        raise
    return None


def _mismatch(held: int) -> Response:
    return error_response(409, "OFFSET_MISMATCH", f"resume at byte {held}",
                          headers={"Upload-Offset": str(held)}, expected=held)
