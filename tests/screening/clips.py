"""Generated clips for screening: drawn speakers (0, 1 or 2), a voice, silence or no audio."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from labeling.synthetic import plan_corpus, write_media


def screening_clip(
    path: Path, *, faces: int = 1, voice: bool = True, audio: bool = True, seconds: float = 2.0
) -> Path:
    """A synthetic clip; the neutral drawn face is the one the Haar cascade finds reliably."""
    item = dataclasses.replace(
        plan_corpus(1, seed=3)[0], seconds=seconds, face_emotion="neutrality"
    )
    write_media(item, path, faces=faces, voice=voice, audio=audio)
    return path
