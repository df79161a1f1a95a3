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

from django.db.models import Case, CharField, Count, F, FilteredRelation, JSONField, Q, When

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


def _final_columns() -> dict[str, Case]:
    """A vote's job's final answer (`_final`) as two columns a query can group by:
    `final_label` (single-label) and `final_set` (multi-label), both NULL without one."""
    excluded, set_by_reviewer = Q(job__excluded=True), Q(job__override_label_set__isnull=False)
    labelled_by_reviewer, decided = ~Q(job__override_label=""), Q(job__state=State.DECIDED.value)
    return {
        "final_label": Case(
            When(excluded | set_by_reviewer, then=None),
            When(labelled_by_reviewer, then=F("job__override_label")),
            When(decided & Q(job__label_set__isnull=True), then=F("job__label")),
            output_field=CharField(),
        ),
        "final_set": Case(
            When(excluded, then=None),
            When(set_by_reviewer, then=F("job__override_label_set")),
            When(decided & ~labelled_by_reviewer, then=F("job__label_set")),
            output_field=JSONField(),
        ),
    }


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
    votes among them. `since` counts only votes cast after it.

    One grouped query: the votes of jobs with a final answer, joined with the assistant
    run's prediction for their job's utterance and head, counted per annotator, modality,
    answer, the job's final answer and the prediction's answer where it was made at
    confidence >= tau (below, none). The rule (labeling/suspects.py) then judges each group
    once: at 387k votes 16k groups in 0.7-0.8 s, where reading every vote took 5.4-6 s."""
    tau = campaign.suspect_confidence if tau is None else tau
    votes = Vote.objects.filter(job__campaign=campaign)
    if annotator_id is not None:
        votes = votes.filter(annotator_id=annotator_id)
    if modality is not None:
        votes = votes.filter(job__modality=modality)
    if since is not None:
        votes = votes.filter(created_at__gt=since)
    votes = votes.annotate(**_final_columns()).filter(
        Q(final_label__isnull=False) | Q(final_set__isnull=False)
    )
    guessed: tuple[str, ...] = ()
    if campaign.assistant_run_id is not None:
        confident = Q(guess__confidence__gte=tau)
        votes = votes.annotate(
            guess=FilteredRelation(
                "job__utterance__predictions",
                condition=Q(
                    job__utterance__predictions__run_id=campaign.assistant_run_id,
                    job__utterance__predictions__head=F("job__modality"),
                ),
            ),
            # Predictions below tau count as none: one group, whatever they said.
            guess_label=Case(When(confident, then=F("guess__label")), output_field=CharField()),
            guess_set=Case(When(confident, then=F("guess__label_set")), output_field=JSONField()),
        )
        guessed = ("guess_label", "guess_set")
    counts: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    columns = ("annotator_id", "job__modality", "label", "label_set", "final_label", "final_set")
    for who, mod, label, label_set, final_label, final_set, *guess, n in (
        votes.values_list(*columns, *guessed).annotate(n=Count("pk")).order_by()
    ):
        final = as_answer(final_label or "", final_set)
        if final is None:  # a decided verdict without a label: none, as `_final` says
            continue
        count = counts[who][mod]
        count[0] += n
        answer = as_answer(guess[0] or "", guess[1]) if guess else None
        confident_guess = None if answer is None else ModelGuess(answer, tau)  # >= tau
        count[1] += n * is_suspect(as_answer(label, label_set), final, confident_guess, tau)
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
