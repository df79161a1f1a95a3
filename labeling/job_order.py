"""A campaign's job order (`Campaign.job_order`) as turn values. Pure: no Django import.

The hand-out order is (priority, -votes_count, turn, id) (services/assignment.py); this
module only decides `turn`, the one interface with assignment. Every order returns one turn
per job, and every order except `shuffled` returns ranks 0..N-1.

- `id`: turn = the job's rank by id (creation order).
- `shuffled`: today's `interleaved_turns` over all the campaign's utterances, seeded (the
  whole campaign dealt afresh from its seed: the same seed and jobs give the same turns).
- `uncertainty`: the entropy of the head of the job's modality, highest first.
- `disagreement`: the uni-modal head against the m head (see `disagreement`), highest first;
  an m job scores the largest of its uni-modal heads' disagreements.
- `utterances`: the utterances by the entropy of their m head, highest first, the emotions
  the m head predicts taking turns (`utterance_turns`), each utterance's jobs on
  consecutive turns. Training needs all four labels of an utterance, and
  ranking single jobs spreads the votes over many utterances without completing any
  (bench/learning_curve.py measured 1 new trainable utterance in 600 votes); this order
  completes the uncertain utterances first (with no prediction: whole utterances in shuffled
  order, so a campaign can use it before its first run). An utterance with a discarded job
  cannot enter the dataset (unless a reviewer sets that label), so its other jobs come after
  every other utterance's (`lost`; assignment also moves them back the moment a job is discarded).
  Within an utterance, the modality discarded most often so far comes first
  (`modality_discard_rates`): if the utterance is going to be lost, it is lost before votes
  go to its other jobs.

A job the assistant run has no prediction for (for disagreement: either head missing) comes
after every scored job, those jobs in their shuffled order; ties among scored jobs are broken
by the shuffled order too, so equal scores still interleave modalities. Design note:
services/job_order.md.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import NamedTuple

from labeling.interleave import interleaved_turns

UNI_MODAL = ("t", "a", "v")


class JobKey(NamedTuple):
    id: int
    utterance_id: int
    modality: str


Probabilities = Mapping[tuple[int, str], Sequence[float]]  # (utterance id, head) → p


def shuffled_turns(jobs: Sequence[JobKey], modalities: str, seed: int) -> dict[int, int]:
    turns = interleaved_turns({j.utterance_id for j in jobs}, modalities, seed)
    return {j.id: turns[j.utterance_id, j.modality] for j in jobs}


def id_turns(jobs: Sequence[JobKey]) -> dict[int, int]:
    return {job_id: rank for rank, job_id in enumerate(sorted(j.id for j in jobs))}


def ranked_turns(
    jobs: Sequence[JobKey], scores: Mapping[int, float | None], fallback: Mapping[int, int]
) -> dict[int, int]:
    """Ranks: jobs with a score first, highest score first; ties and unscored jobs (last)
    in the `fallback` order (then by id)."""

    def key(job: JobKey):
        score = scores.get(job.id)
        if score is None:
            return (1, 0.0, fallback[job.id], job.id)
        return (0, -score, fallback[job.id], job.id)

    return {job.id: rank for rank, job in enumerate(sorted(jobs, key=key))}


def disagreement(uni: Sequence[float], m: Sequence[float], multi_label: bool = False) -> float:
    """How much the uni-modal head disagrees with the m head, in [0, 1].

    Single-label: 1 − the probability the m head gives the uni-modal head's label (ties:
    the first such class, as argmax). Multi-label (a sigmoid per class): the mean over
    classes of |p_u − p_m|, the total variation between the two heads' Bernoulli per
    emotion, averaged."""
    if len(uni) != len(m) or not uni:
        raise ValueError("both heads need probabilities over the same classes")
    if multi_label:
        return sum(abs(p - q) for p, q in zip(uni, m, strict=True)) / len(uni)
    best = max(range(len(uni)), key=uni.__getitem__)
    return 1.0 - float(m[best])


def modality_discard_rates(final: Mapping[str, tuple[int, int]]) -> dict[str, float]:
    """Per modality, the share of its final jobs the rule discarded, from (discarded, final)
    counts, smoothed as (discarded + 1) / (final + 2): a modality with no final job yet
    counts 1/2, so before any verdict every modality ties."""
    return {m: (discarded + 1) / (total + 2) for m, (discarded, total) in final.items()}


def uncertainty_scores(jobs: Iterable[JobKey], entropy: Mapping[tuple[int, str], float]):
    return {j.id: entropy.get((j.utterance_id, j.modality)) for j in jobs}


def disagreement_scores(
    jobs: Iterable[JobKey], probabilities: Probabilities, multi_label: bool = False
) -> dict[int, float | None]:
    scores: dict[int, float | None] = {}
    for job in jobs:
        m = probabilities.get((job.utterance_id, "m"))
        heads = UNI_MODAL if job.modality == "m" else (job.modality,)
        found = [
            disagreement(probabilities[job.utterance_id, h], m, multi_label)
            for h in heads
            if m is not None and (job.utterance_id, h) in probabilities
        ]
        scores[job.id] = max(found) if found else None
    return scores


def utterance_turns(
    jobs: Sequence[JobKey],
    shuffled: Mapping[int, int],
    entropy: Mapping[tuple[int, str], float],
    m_labels: Mapping[int, str],
    lost: Collection[int],
    discard_rates: Mapping[str, float] | None,
) -> dict[int, int]:
    """The utterances order (see the module docstring), as ranks.

    Scored utterances come first, the emotions the m head predicts taking turns: the most
    uncertain utterance of each predicted emotion, then the second of each, and so on, each
    such round most uncertain first. Ranking by entropy alone lets a weak model fill a
    round with the one emotion it is unsure about, and a training set grown that way is
    skewed (and annotators see one emotion after another). Without labels all utterances are
    one emotion, i.e. plain entropy order. Ties and unscored utterances: the utterance's
    first shuffled turn; within an utterance the modality most often discarded first (equal
    rates: the shuffled order); lost utterances after all others."""
    first: dict[int, int] = {}
    for j in jobs:
        first[j.utterance_id] = min(first.get(j.utterance_id, shuffled[j.id]), shuffled[j.id])
    scored = {u for u in first if (u, "m") in entropy}
    by_label: dict[str, list[int]] = {}
    for u in scored:
        by_label.setdefault(m_labels.get(u, ""), []).append(u)
    turn_in_label: dict[int, int] = {}
    for group in by_label.values():
        group.sort(key=lambda u: (-entropy[u, "m"], first[u]))
        turn_in_label.update({u: rank for rank, u in enumerate(group)})
    rate = discard_rates or {}

    def key(job: JobKey):
        u = job.utterance_id
        placed = (0, turn_in_label[u], -entropy[u, "m"]) if u in scored else (1, 0, 0.0)
        return (
            u in lost,
            *placed,
            first[u],
            -rate.get(job.modality, 0.0),
            shuffled[job.id],
            job.id,
        )

    return {job.id: rank for rank, job in enumerate(sorted(jobs, key=key))}


def job_turns(
    order: str,
    jobs: Sequence[JobKey],
    modalities: str,
    seed: int,
    *,
    entropy: Mapping[tuple[int, str], float] | None = None,
    probabilities: Probabilities | None = None,
    multi_label: bool = False,
    lost: Collection[int] = frozenset(),
    discard_rates: Mapping[str, float] | None = None,
    m_labels: Mapping[int, str] | None = None,
) -> dict[int, int]:
    """Job id → turn for `order` (id, shuffled, uncertainty, disagreement,
    utterances). For the utterances order: `lost`, utterances with a discarded job (their
    jobs go last: such an utterance cannot enter the dataset unless a reviewer sets a
    label); `discard_rates` per modality (`modality_discard_rates`), which orders an
    utterance's jobs, highest first; `m_labels`, the m head's label per utterance, whose
    emotions take turns."""
    if order == "id":
        return id_turns(jobs)
    shuffled = shuffled_turns(jobs, modalities, seed)
    if order == "shuffled":
        return shuffled
    if order == "uncertainty":
        return ranked_turns(jobs, uncertainty_scores(jobs, entropy or {}), shuffled)
    if order == "disagreement":
        scores = disagreement_scores(jobs, probabilities or {}, multi_label)
        return ranked_turns(jobs, scores, shuffled)
    if order == "utterances":
        return utterance_turns(jobs, shuffled, entropy or {}, m_labels or {}, lost, discard_rates)
    raise ValueError(
        f"unknown job order {order!r}: id, shuffled, uncertainty, disagreement or utterances"
    )
