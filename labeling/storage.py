"""Where media lives under MEDIA_ROOT, and safe path handling.

Layout (all private, served only through permission-checking views):
    sources/<h[:2]>/<sha256><ext>          stored copy of each imported clip (content-addressed)
    renditions/<corpus>/<utterance>/<m>.*  what annotators of modality m may see
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings


class UnsafePath(ValueError):
    """A path points outside the directory it must stay in."""


def resolve_inside(root: Path, relative: str) -> Path:
    """Join `relative` to `root` and refuse anything that escapes it (.., absolute, symlinks)."""
    root = Path(root).resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root):
        raise UnsafePath(f"{relative!r} points outside {root}")
    return candidate


def media_path(relative: str) -> Path:
    return resolve_inside(Path(settings.MEDIA_ROOT), relative)


def store_source(path: Path, content_hash: str) -> str:
    """Copy a clip into content-addressed storage; return its path relative to MEDIA_ROOT."""
    suffix = Path(path).suffix.lower()[:10]
    relative = f"sources/{content_hash[:2]}/{content_hash}{suffix}"
    target = media_path(relative)
    if not target.exists():
        atomic_copy(Path(path), target)
    return relative


def atomic_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def rendition_relpath(corpus_id: int, utterance_id: int, modality: str, suffix: str) -> str:
    return f"renditions/{corpus_id}/{utterance_id}/{modality}{suffix}"
