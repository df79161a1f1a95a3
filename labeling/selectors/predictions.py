"""Reading the assistant run's predictions: beside votes in review, and for suspect votes.

Every function here reads the campaign's `assistant_run` only, in a bounded number of
queries (predictions are fetched for a page or a campaign at once, never per job). None of
this is ever shown to annotators (tests/curation/test_independence.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from labeling.models import Campaign, Job, Prediction, Vote
from labeling.models.annotation import label_set_text
from labeling.suspects import ModelGuess, SuspectRate, as_answer, is_suspect, model_disagrees
from labeling.verdicts import State

Key = tuple[int, str]  # (utterance id, head)


def assistant_predictions(
    campaign: Campaign, utterance_ids: Iterable[int] | None = None
) -> dict[Key, Prediction]:
    """The assistant run's predictions by (utterance, head); {} when the campaign has no
    assistant run. One query (none without a run)."""
    if campaign.assistant_run_id is None:
        return {}
    rows = Prediction.objects.filter(run_id=campaign.assistant_run_id).only(
        "utterance_id", "head", "label", "label_set", "confidence", "run_id"
    )
    if utterance_ids is not None:
        rows = rows.filter(utterance_id__in=list(utterance_ids))
    return {(p.utterance_id, p.head): p for p in rows}


def guess_of(prediction: Prediction | None) -> ModelGuess | None:
    if prediction is None:
        return None
    answer = as_answer(prediction.label, prediction.label_set)
    return None if answer is None else ModelGuess(answer, prediction.confidence)


def prediction_text(prediction: Prediction | None) -> str:
    """The predicted label, or set of emotions, as people read it; "" without one."""
    if prediction is None:
        return ""
    return (
        prediction.label if prediction.label_set is None else label_set_text(prediction.label_set)
    )


def _final(state, label, label_set, override_label, override_label_set, excluded):
    """A job's final answer from its stored fields (Job.final_label / final_label_set)."""
    if excluded:
        return None
    if override_label_set is not None or override_label:
        return as_answer(override_label, override_label_set)
    if state != State.DECIDED.value:
        return None
    return as_answer(label, label_set)


def final_answer(job: Job):
    return _final(
        job.state, job.label, job.label_set, job.override_label, job.override_label_set,
        job.excluded,
    )  # fmt: skip


def with_predictions(campaign: Campaign, jobs: Iterable[Job], tau: float | None = None) -> list:
    """The jobs, each with `.prediction` (the assistant run's Prediction for its modality's
    head, or None), `.prediction_text` and `.model_disagrees` (at confidence >= tau, default
    the campaign's suspect_confidence). One query for all of them."""
    jobs = list(jobs)
    tau = campaign.suspect_confidence if tau is None else tau
    found = assistant_predictions(campaign, {job.utterance_id for job in jobs})
    for job in jobs:
        job.prediction = found.get((job.utterance_id, job.modality))
        job.prediction_text = prediction_text(job.prediction)
        job.model_disagrees = model_disagrees(final_answer(job), guess_of(job.prediction), tau)
    return jobs


_JOB_FIELDS = (
    "job__state",
    "job__label",
    "job__label_set",
    "job__override_label",
    "job__override_label_set",
    "job__excluded",
)


def model_disagreement_job_ids(campaign: Campaign, tau: float) -> list[int]:
    """Jobs with a final label that the assistant run's prediction for their modality
    contradicts at confidence >= tau. Two queries."""
    predictions = assistant_predictions(campaign)
    if not predictions:
        return []
    rows = Job.objects.filter(campaign=campaign, excluded=False).values_list(
        "pk", "utterance_id", "modality", *(field.removeprefix("job__") for field in _JOB_FIELDS)
    )
    return [
        pk
        for pk, utterance, modality, *fields in rows
        if model_disagrees(_final(*fields), guess_of(predictions.get((utterance, modality))), tau)
    ]


def suspect_vote_ids(job: Job, votes: Iterable[Vote], tau: float | None = None) -> set[int]:
    """The job's suspect votes (labeling/suspects.py), given its prediction (`with_predictions`
    sets `job.prediction`) or none."""
    tau = job.campaign.suspect_confidence if tau is None else tau
    final, guess = final_answer(job), guess_of(getattr(job, "prediction", None))
    return {
        vote.pk
        for vote in votes
        if is_suspect(as_answer(vote.label, vote.label_set), final, guess, tau)
    }


def suspect_rates(
    campaign: Campaign,
    *,
    annotator_id: int | None = None,
    modality: str | None = None,
    since: datetime | None = None,
    tau: float | None = None,
) -> dict[int, dict[str, SuspectRate]]:
    """Per annotator and modality: decided votes (their job has a final label) and suspect
    votes among them. Two queries. `since` counts only votes cast after it."""
    tau = campaign.suspect_confidence if tau is None else tau
    votes = Vote.objects.filter(job__campaign=campaign)
    if annotator_id is not None:
        votes = votes.filter(annotator_id=annotator_id)
    if modality is not None:
        votes = votes.filter(job__modality=modality)
    if since is not None:
        votes = votes.filter(created_at__gt=since)
    predictions = {}
    if campaign.assistant_run_id is not None:  # only those the votes need: cheap per decision
        wanted = Prediction.objects.filter(
            run_id=campaign.assistant_run_id, utterance_id__in=votes.values("job__utterance_id")
        ).only("utterance_id", "head", "label", "label_set", "confidence")
        if modality is not None:
            wanted = wanted.filter(head=modality)
        predictions = {(p.utterance_id, p.head): p for p in wanted}
    counts: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for who, mod, utterance, label, label_set, *fields in votes.values_list(
        "annotator_id", "job__modality", "job__utterance_id", "label", "label_set", *_JOB_FIELDS
    ):
        final = _final(*fields)
        if final is None:
            continue
        count = counts[who][mod]
        count[0] += 1
        guess = guess_of(predictions.get((utterance, mod)))
        count[1] += is_suspect(as_answer(label, label_set), final, guess, tau)
    return {
        who: {mod: SuspectRate(*count) for mod, count in sorted(per.items())}
        for who, per in counts.items()
    }


def suspect_table(campaign: Campaign) -> dict[int, dict[str, dict[str, Any]]]:
    """`suspect_rates` as plain numbers for the annotator quality table; {} without an
    assistant run (nothing can be suspect)."""
    if campaign.assistant_run_id is None:
        return {}
    return {
        who: {
            mod: {"decided": r.decided, "suspect": r.suspect, "rate": r.rate}
            for mod, r in per.items()
        }
        for who, per in suspect_rates(campaign).items()
    }
