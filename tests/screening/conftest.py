import shutil

import pytest

from labeling.models import Corpus, Utterance
from labeling.services.imports import import_manifest
from tests.screening.clips import screening_clip

KINDS = {
    "good": {"faces": 1},
    "no_face": {"faces": 0},
    "two_faces": {"faces": 2},
    "silent": {"voice": False},
}


@pytest.fixture(scope="session")
def generated_clips(tmp_path_factory):
    """One clip of each kind, written once per test run."""
    folder = tmp_path_factory.mktemp("generated")
    return {kind: screening_clip(folder / f"{kind}.mp4", **o) for kind, o in KINDS.items()}


@pytest.fixture
def import_clips(media_root, clip_dir, generated_clips):
    """Import the named kinds of clip into a new corpus; returns {kind: utterance}."""

    def run(*kinds: str, corpus: str = "screening corpus") -> dict[str, Utterance]:
        lines = ["id,media,transcript"]
        for kind in kinds:
            shutil.copy(generated_clips[kind], clip_dir / f"{kind}.mp4")
            lines.append(f"{kind},{kind}.mp4,这是{kind}的一句话")
        (clip_dir / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        target, _ = Corpus.objects.get_or_create(name=corpus)
        batch = import_manifest(
            corpus=target, manifest_path=clip_dir / "manifest.csv", media_root=clip_dir
        )
        assert batch.rows_imported == len(kinds), batch.rejected
        return {u.external_id: u for u in target.utterances.all()}

    return run
