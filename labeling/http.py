"""Serving private media files with HTTP range requests (audio/video need them to seek)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def private_file_response(request: HttpRequest, path: Path, content_type: str) -> HttpResponse:
    """The file at `path` (already permission-checked), honouring a single byte range.

    With SENDFILE_HEADER set (e.g. X-Accel-Redirect behind nginx) the web server sends the
    bytes instead, from the internal location SENDFILE_URL_PREFIX mapped onto MEDIA_ROOT.
    """
    header = getattr(settings, "SENDFILE_HEADER", "")
    if header:
        response = HttpResponse(content_type=content_type)
        relative = Path(path).resolve().relative_to(Path(settings.MEDIA_ROOT).resolve())
        response[header] = f"{settings.SENDFILE_URL_PREFIX.rstrip('/')}/{relative.as_posix()}"
        return response
    size = os.path.getsize(path)
    match = RANGE.match(request.headers.get("Range", "").strip())
    if not match or not any(match.groups()):
        response = FileResponse(open(path, "rb"), content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:  # suffix range: the last N bytes
        start, end = max(size - int(last), 0), size - 1
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    response = StreamingHttpResponse(_read(path, start, end), status=206, content_type=content_type)
    response["Content-Length"] = str(end - start + 1)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response


def _read(path: Path, start: int, end: int):
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
