"""Setting a campaign's job order and recomputing its jobs' turns (labeling/job_order.py).

Turns are the only interface with assignment: they are rewritten in one transaction, in
bulk, with the campaign row locked so two recomputations never interleave. Design note:
job_order.md.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, F, Q

from labeling.job_order import JobKey, job_turns, modality_discard_rates
from labeling.models import Campaign, Job, Prediction
from labeling.services.campaigns import CampaignInvalid
from labeling.verdicts import State

MODEL_ORDERS = (  # orders that read the assistant run's predictions
    Campaign.JobOrder.UNCERTAINTY,
    Campaign.JobOrder.DISAGREEMENT,
    Campaign.JobOrder.UNCERTAIN_UTTERANCES,
)
# The utterances order also works before any model: whole utterances in shuffled order (so
# the first training run has trainable utterances early), lost ones last, fail fast.
NEEDS_MODEL = (Campaign.JobOrder.UNCERTAINTY, Campaign.JobOrder.DISAGREEMENT)


def check_job_order(order: str, assistant_run) -> None:
    """Refuse an order that needs the model without an assistant run that has predictions,
    and an assistant run without predictions for an order that reads them."""
    if order not in Campaign.JobOrder.values:
        raise CampaignInvalid(
            f"Unknown job order {order!r}; choose one of {', '.join(Campaign.JobOrder.values)}."
        )
    if order not in MODEL_ORDERS or (assistant_run is None and order not in NEEDS_MODEL):
        return
    if assistant_run is None:
        raise CampaignInvalid(
            f"The {order} order needs an assistant run: pick a finished training run whose "
            "predictions order the jobs, or choose the id, shuffled or utterances order."
        )
    if not Prediction.objects.filter(run=assistant_run).exists():
        raise CampaignInvalid(
            f"Run {assistant_run.pk} has no predictions yet, so the {order} order cannot rank "
            "jobs; predict with it first (manage.py predict or the run page), or choose the "
            "id, shuffled or utterances order."
        )


def set_job_order(campaign: Campaign, order: str, assistant_run=None) -> int:
    """Store the order (and assistant run) and recompute the turns; returns how many jobs."""
    check_job_order(order, assistant_run)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        locked.job_order = order
        locked.assistant_run = assistant_run
        locked.save(update_fields=["job_order", "assistant_run"])
        campaign.job_order, campaign.assistant_run = order, assistant_run
        return _recompute(locked)


def recompute_turns(campaign_id: int) -> int:
    """Rewrite every job's turn for the campaign's current order; returns how many jobs."""
    with transaction.atomic():
        return _recompute(Campaign.objects.select_for_update().get(pk=campaign_id))


def after_predictions(run_id: int) -> list[int]:
    """Recompute the campaigns whose assistant run is `run_id` (a predict job finished);
    returns their ids."""
    ids = list(Campaign.objects.filter(assistant_run_id=run_id).values_list("pk", flat=True))
    for campaign_id in ids:
        recompute_turns(campaign_id)
    return ids


LOST_OFFSET = 1 << 30  # above every rank: a lost utterance's jobs come after all others


def defer_lost_utterance(job: Job) -> int:
    """`job` was just discarded (in its vote's transaction, its row locked). Under the
    utterances order its utterance can no longer enter the dataset (unless a reviewer sets
    that label), so its other jobs move behind every job of the campaign: one UPDATE, only
    on a discard. A sibling locked by its own vote right now is skipped, not waited for (two
    siblings discarded at once would otherwise wait on each other); the next recomputation
    moves it. Returns how many jobs moved."""
    if job.campaign.job_order != Campaign.JobOrder.UNCERTAIN_UTTERANCES:
        return 0
    siblings = list(
        Job.objects.filter(
            campaign_id=job.campaign_id, utterance_id=job.utterance_id, turn__lt=LOST_OFFSET
        )
        .exclude(pk=job.pk)
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)
    )
    return Job.objects.filter(pk__in=siblings).update(turn=F("turn") + LOST_OFFSET)


def lost_utterances(campaign: Campaign) -> set[int]:
    """Utterances with a job discarded and no reviewer's label on it."""
    return set(
        campaign.jobs.filter(
            state=State.DISCARDED,
            excluded=False,
            override_label="",
            override_label_set__isnull=True,
        ).values_list("utterance_id", flat=True)
    )


def discard_rates(campaign: Campaign) -> dict[str, float]:
    """Each modality's share of the campaign's final jobs the rule discarded (smoothed:
    `labeling.job_order.modality_discard_rates`), from one grouped query."""
    final = {m: (0, 0) for m in campaign.modalities}
    rows = (
        campaign.jobs.filter(state__in=(State.DECIDED, State.DISCARDED))
        .values("modality")
        .annotate(discarded=Count("id", filter=Q(state=State.DISCARDED)), final=Count("id"))
    )
    final.update({r["modality"]: (r["discarded"], r["final"]) for r in rows})
    return modality_discard_rates(final)


def _recompute(campaign: Campaign) -> int:
    jobs = [JobKey(*row) for row in campaign.jobs.values_list("id", "utterance_id", "modality")]
    lost, rates = set(), {}
    if campaign.job_order == Campaign.JobOrder.UNCERTAIN_UTTERANCES:
        lost, rates = lost_utterances(campaign), discard_rates(campaign)
    entropy, probabilities, m_labels = {}, {}, {}
    if campaign.job_order in MODEL_ORDERS and campaign.assistant_run_id is not None:
        rows = Prediction.objects.filter(
            run_id=campaign.assistant_run_id, utterance_id__in=campaign.jobs.values("utterance_id")
        )
        if campaign.job_order != Campaign.JobOrder.DISAGREEMENT:
            found = rows.values_list("utterance_id", "head", "entropy", "label")
            for u, head, e, label in found:
                entropy[u, head] = e
                if head == "m":
                    m_labels[u] = label
        else:
            probabilities = {
                (u, h): p for u, h, p in rows.values_list("utterance_id", "head", "probabilities")
            }
    turns = job_turns(
        campaign.job_order,
        jobs,
        campaign.modalities,
        campaign.assignment_seed,
        entropy=entropy,
        probabilities=probabilities,
        multi_label=campaign.is_multi_label,
        lost=lost,
        discard_rates=rates,
        m_labels=m_labels,
    )
    changed = [Job(pk=job_id, turn=turn) for job_id, turn in turns.items()]
    Job.objects.bulk_update(changed, ["turn"], batch_size=5000)
    return len(changed)
