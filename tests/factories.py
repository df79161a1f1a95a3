"""Rows for tests that exercise assignment and voting, where media files are beside the point.

Tests of import and rendering go through the real import service and real media instead.
"""

from __future__ import annotations

import itertools

from django.contrib.auth.models import Group, User

from labeling.models import Corpus, Modality, Rendition, Utterance
from labeling.roles import ANNOTATOR

_numbers = itertools.count(1)


def rendered_corpus(n_utterances: int, name: str | None = None) -> Corpus:
    corpus = Corpus.objects.create(name=name or f"corpus {next(_numbers)}")
    utterances = Utterance.objects.bulk_create(
        [
            Utterance(
                corpus=corpus,
                external_id=f"u{i}",
                source_file=f"sources/{i}.mp4",
                original_name=f"{i}.mp4",
                transcript=f"第{i}句话",
                duration_seconds=2.0,
                content_hash=f"{i:064d}",
            )
            for i in range(n_utterances)
        ]
    )
    Rendition.objects.bulk_create(
        [
            Rendition(utterance=u, modality=m, status=Rendition.Status.DONE, file=f"r/{u.pk}/{m}")
            for u in utterances
            for m in Modality.values
        ]
    )
    return corpus


def annotators(n: int, prefix: str = "annotator") -> list[User]:
    group, _ = Group.objects.get_or_create(name=ANNOTATOR)  # transactional tests flush it
    users = [User.objects.create_user(f"{prefix}{i}", password="pw") for i in range(1, n + 1)]
    group.user_set.add(*users)
    return users
