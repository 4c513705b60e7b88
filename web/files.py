"""Downloads of stored bytes: an original file, a fileset as a zip stream, a thumbnail.

Reached with the URL GraphQL hands out (signed for one user, expiring) or with the
session (cookie or bearer). Either way visibility is checked for that user now.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from resolvers import files
from resolvers.actor import Actor
from resolvers.errors import DomainError, NotFound
from resolvers.signing import Signer
from store.repository import Repository, UnsafePath
from web.errors import domain_error_response, error_response, unauthenticated

CHUNK = 1 << 20


async def _run(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn(db, actor, *args)`` as the signed URL's user or the session's."""
    state = request.scope["state"]
    db = state["db"]
    signer: Signer = request.app.state.signer
    signature = signer.verify(request.url.path, dict(request.query_params))
    if signature is not None:
        actor: Actor = await db.run(files.actor_of, signature.user_id)
    elif state["auth"].actor is not None:
        actor = state["auth"].actor
    else:
        raise PermissionError
    return await db.run(fn, actor, *args)


async def _guard(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return await _run(request, fn, *args)
    except PermissionError:
        return unauthenticated()
    except DomainError as exc:
        return domain_error_response(exc)


def _disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _file(request: Request, ref: files.FileRef) -> Path:
    repository: Repository = Repository(request.app.state.settings.repository_dir)
    try:
        return repository.existing_file(ref.path)
    except (UnsafePath, FileNotFoundError):
        raise NotFound("the stored file is missing") from None


async def _send_file(request: Request, lookup: Callable[..., files.FileRef],
                     media_type: str, headers: Callable[[files.FileRef], dict[str, str]],
                     missing: tuple[int, str]) -> Response:
    """One stored file, found by ``lookup`` as the URL's or the session's user.
    FileResponse streams from disk and answers Range requests (resumable downloads)."""
    ref = await _guard(request, lookup, request.path_params["id"])
    if isinstance(ref, Response):
        return ref
    try:
        path = _file(request, ref)
    except NotFound as exc:
        return error_response(*missing, exc.message)
    return FileResponse(path, media_type=media_type, headers=headers(ref))


async def download_original(request: Request) -> Response:
    # A row whose file is gone is the server's loss, not a wrong URL: 410, not 404.
    return await _send_file(
        request, files.original_file, "application/octet-stream",
        lambda ref: {"Content-Disposition": _disposition(ref.name),
                     "Cache-Control": "private, no-store"}, (410, "GONE"))


async def get_thumbnail(request: Request) -> Response:
    return await _send_file(request, files.thumbnail, "image/png",
                            lambda _ref: {"Cache-Control": "private, max-age=300"},
                            (404, "NOT_FOUND"))


async def download_fileset(request: Request) -> Response:
    found = await _guard(request, files.fileset_files, request.path_params["id"])
    if isinstance(found, Response):
        return found
    name, refs = found
    try:
        paths = [(ref.name, _file(request, ref)) for ref in refs]
    except NotFound as exc:
        return error_response(410, "GONE", exc.message)
    return StreamingResponse(zip_stream(paths), media_type="application/zip",
                             headers={"Content-Disposition": _disposition(f"{name}.zip"),
                                      "Cache-Control": "private, no-store"})


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream whose bytes are taken out as they come."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def zip_stream(entries: list[tuple[str, Path]]) -> Iterator[bytes]:
    """A zip of ``(name, path)`` entries, produced chunk by chunk (stored, not deflated:
    image data rarely shrinks, and the stream then costs no CPU). ZIP64 throughout, so
    files of any size fit; an unseekable output makes zipfile use data descriptors."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, path in entries:
            with path.open("rb") as source, archive.open(name, "w", force_zip64=True) as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()
