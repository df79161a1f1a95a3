"""Creating campaigns and their jobs (one per utterance × collected modality)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from labeling.interleave import interleaved_turns
from labeling.models import Campaign, ClipScreening, Corpus, ImportedVote, Job, Modality, Vote
from labeling.models.annotation import default_labels
from labeling.screening import Thresholds
from labeling.selectors.pool import pool_check
from labeling.verdicts import VotingRule, require_majority


class CampaignInvalid(ValueError):
    """The campaign's settings contradict each other; the message says which."""


def validate_labels(labels: list[dict]) -> list[dict]:
    if not labels:
        raise CampaignInvalid("A campaign needs at least two labels.")
    names = [str(label.get("name", "")).strip() for label in labels]
    keys = [str(label.get("key", "")).strip() for label in labels]
    if len(names) < 2 or not all(names):
        raise CampaignInvalid("A campaign needs at least two labels, each with a name.")
    if len(set(names)) != len(names):
        raise CampaignInvalid("Label names must be unique.")
    if any(len(key) != 1 for key in keys) or len(set(keys)) != len(keys):
        raise CampaignInvalid("Each label needs its own one-character keyboard key.")
    return [{"name": name, "key": key} for name, key in zip(names, keys, strict=True)]


def labels_in_use(campaign: Campaign) -> bool:
    """Whether any vote, imported label, reviewer's label or gold item names a label."""
    return (
        Vote.objects.filter(job__campaign=campaign).exists()
        or ImportedVote.objects.filter(job__campaign=campaign).exists()
        or campaign.jobs.filter(
            Q(source="imported") | ~Q(override_label="") | Q(override_label_set__isnull=False)
        ).exists()
        or campaign.gold_items.exists()
    )


def check_label_change(campaign: Campaign, labels: list[dict]) -> None:
    """Refuse renaming, adding or removing a label once labels are in use: the votes and
    verdicts under the old names would fall outside the set (the dashboard could no longer
    count them). Keys and display order may always change."""
    old, new = campaign.label_names, [label["name"] for label in labels]
    if sorted(old) == sorted(new) or not labels_in_use(campaign):
        return
    raise CampaignInvalid(
        f"This campaign already has votes or imported labels, so its label set is fixed "
        f"({', '.join(old)}): renaming, adding or removing a label would leave them outside "
        "it. You may change keys and order; for another label set, create a new campaign."
    )


def validate_label_mode(label_mode: str, allow_none: bool, undecided_policy: str) -> None:
    """Refuse a mode, "none of these" or undecided policy that does not exist or does not
    apply (both belong to multi-label campaigns)."""
    if label_mode not in Campaign.LabelMode.values:
        raise CampaignInvalid(
            f"Unknown label mode {label_mode!r}: use {' or '.join(Campaign.LabelMode.values)}."
        )
    if undecided_policy not in Campaign.UndecidedPolicy.values:
        raise CampaignInvalid(
            f"Unknown undecided policy {undecided_policy!r}: use discard (drop an item whose "
            "emotion ends 2:2) or mark (mark that emotion undecided)."
        )
    if label_mode == Campaign.LabelMode.SINGLE and (
        allow_none or undecided_policy != Campaign.UndecidedPolicy.DISCARD
    ):
        raise CampaignInvalid(
            '"None of these" and the undecided policy belong to multi-label campaigns; '
            "choose the multi-label mode or leave them at their defaults."
        )


def check_mode_change(campaign: Campaign, label_mode: str, allow_none, undecided_policy) -> None:
    """Refuse changing how answers are read once the campaign has jobs (their votes and
    verdicts were collected under the old mode) or gold items (they have one label)."""
    old = (campaign.label_mode, campaign.allow_none, campaign.undecided_policy)
    if old == (label_mode, allow_none, undecided_policy) or not (
        campaign.jobs.exists() or campaign.gold_items.exists()
    ):
        return
    raise CampaignInvalid(
        f"This campaign already has jobs or gold items, so its label mode "
        f"({campaign.label_mode}), "
        '"none of these" and undecided policy are fixed; create a new campaign to label '
        "another way."
    )


def create_campaign(
    *,
    name: str,
    corpus: Corpus,
    annotators=(),
    labels: list[dict] | None = None,
    modalities: str = "tavm",
    label_mode: str = Campaign.LabelMode.SINGLE,
    allow_none: bool = False,
    undecided_policy: str = Campaign.UndecidedPolicy.DISCARD,
    rule: VotingRule | None = None,
    lease_seconds: int = 600,
    independence_guard: bool = True,
    automatic_screening: bool = False,
    thresholds: Thresholds | None = None,
    human_screening: bool = False,
    screeners=(),
    job_order: str = Campaign.JobOrder.SHUFFLED,
    assistant_run=None,
) -> Campaign:
    """A campaign over the corpus with a job for every utterance and collected modality.

    With screening (automatic, human or both) only clips that screening accepted get jobs;
    each clip's ClipScreening is created here (labeling/services/screening.md).
    `label_mode` multi-label asks annotators for every emotion that applies (with
    `allow_none`, "none of these" is an answer) and decides each emotion by the rule
    (labeling/multilabel_verdicts.md; `undecided_policy` says what an emotion left 2:2 does).
    The returned campaign carries `warnings`: sentences about settings that are allowed but
    will hurt, such as a pool too small for the rule (labeling/pool.py); [] when none.
    `job_order` (uncertainty and disagreement need an `assistant_run` with predictions):
    labeling/services/job_order.md.
    """
    from labeling.services.job_order import check_job_order  # it imports this module

    check_job_order(job_order, assistant_run)
    labels = validate_labels(labels if labels is not None else default_labels())
    validate_label_mode(label_mode, allow_none, undecided_policy)
    modalities = "".join(m for m in Modality.values if m in set(modalities))
    if not modalities:
        raise CampaignInvalid("Collect at least one modality (t, a, v or m).")
    rule = rule or VotingRule()
    try:
        require_majority(rule)
    except ValueError as exc:
        raise CampaignInvalid(str(exc)) from exc
    if lease_seconds < 10:
        raise CampaignInvalid("Leases must last at least 10 seconds.")
    thresholds = thresholds or Thresholds()
    if human_screening and not screeners:
        raise CampaignInvalid("Human screening needs at least one screener.")
    check_screeners_unseen(screeners, annotators, independence_guard)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            corpus=corpus,
            labels=labels,
            modalities=modalities,
            label_mode=label_mode,
            allow_none=allow_none,
            undecided_policy=undecided_policy,
            initial_votes=rule.initial_votes,
            agreement=rule.agreement,
            max_votes=rule.max_votes,
            lease_seconds=lease_seconds,
            independence_guard=independence_guard,
            automatic_screening=automatic_screening,
            screen_min_seconds=thresholds.min_seconds,
            screen_max_seconds=thresholds.max_seconds,
            screen_min_loudness_db=thresholds.min_loudness_db,
            screen_min_voiced_share=thresholds.min_voiced_share,
            screen_min_face_share=thresholds.min_face_share,
            human_screening=human_screening,
            job_order=job_order,
            assistant_run=assistant_run,
        )
        campaign.annotators.set(annotators)
        campaign.screeners.set(screeners)
        add_missing_jobs(campaign)
        if automatic_screening or human_screening:
            from labeling.services.screening import judge_campaign  # it imports this module

            judge_campaign(campaign)
    campaign.warnings = campaign_warnings(campaign)
    return campaign


def campaign_warnings(campaign: Campaign) -> list[str]:
    """What to tell whoever creates or edits the campaign: today, whether its pool can
    finish it under its rule and guard."""
    warning = pool_check(campaign).warning
    return [warning] if warning else []


def check_screeners_unseen(screeners, annotators, independence_guard: bool) -> None:
    """With the independence guard on, nobody may both screen and annotate: a screener has
    seen every clip they screened with sound, picture and transcript."""
    both = {getattr(u, "pk", u) for u in screeners} & {getattr(u, "pk", u) for u in annotators}
    if independence_guard and both:
        raise CampaignInvalid(
            "Screeners have seen the clips with sound, picture and transcript, so with the "
            "independence guard on they cannot annotate them too; take them out of the "
            "annotators or the screeners."
        )


def add_missing_jobs(campaign: Campaign, utterance_ids=None) -> int:
    """Create the jobs of every utterance that may be annotated; returns how many.

    An utterance may be annotated unless it is one of the campaign's gold items (gold never
    reaches a verdict) and, when the campaign screens clips, only once screening accepted it;
    a clip a screener rejected never is. `utterance_ids` limits the work to those utterances
    (screening accepting a few clips).
    """
    utterances = annotatable_utterances(campaign)
    jobs = campaign.jobs
    if utterance_ids is not None:
        utterances = utterances.filter(pk__in=utterance_ids)
        jobs = jobs.filter(utterance_id__in=utterance_ids)
    existing = set(jobs.values_list("utterance_id", "modality"))
    missing = [
        (utterance_id, modality)
        for utterance_id in utterances.values_list("id", flat=True)
        for modality in campaign.modalities
        if (utterance_id, modality) not in existing
    ]
    placed = campaign.jobs.values("utterance_id").distinct().count()
    turns = interleaved_turns(
        {u for u, _ in missing}, campaign.modalities, campaign.assignment_seed, start=placed
    )
    new = [Job(campaign=campaign, utterance_id=u, modality=m, turn=turns[u, m]) for u, m in missing]
    Job.objects.bulk_create(new, batch_size=5000, ignore_conflicts=True)
    if new and campaign.job_order != Campaign.JobOrder.SHUFFLED:
        from labeling.services.job_order import recompute_turns  # it imports this module

        recompute_turns(campaign.pk)  # ranks: the new jobs take their place among the rest
    return len(new)


def annotatable_utterances(campaign: Campaign):
    utterances = campaign.corpus.utterances.exclude(
        pk__in=campaign.gold_items.values("utterance_id")
    )
    if campaign.automatic_screening or campaign.human_screening:
        utterances = utterances.filter(
            screenings__campaign=campaign, screenings__status=ClipScreening.Status.ACCEPTED
        )
    else:  # a screener's rejection stands even once the campaign stops screening
        utterances = utterances.exclude(
            pk__in=campaign.screenings.filter(status=ClipScreening.Status.REJECTED).values(
                "utterance_id"
            )
        )
    return utterances
