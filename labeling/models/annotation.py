"""Campaigns, jobs (one per utterance × modality), leases and votes.

The assignment and voting rules live in `labeling.services.assignment` and
`labeling.verdicts`; the constraints here are the database's last line of defence:
one lease and one vote per (job, annotator), one vote per lease.
"""

import random

from django.conf import settings
from django.db import models
from django.utils import timezone

from labeling.emotions import preset_labels
from labeling.models.corpus import Corpus, Modality, Utterance
from labeling.verdicts import State, VotingRule


def new_assignment_seed() -> int:
    return random.SystemRandom().randrange(2**31)


def label_set_text(labels: list[str]) -> str:
    """A set of emotions as people read it."""
    return ", ".join(labels) if labels else "none of these"


def default_labels() -> list[dict]:
    return preset_labels("cherma")


class Campaign(models.Model):
    class LabelMode(models.TextChoices):
        SINGLE = "single-label", "single-label (choose one)"
        MULTI = "multi-label", "multi-label (choose all that apply)"

    class UndecidedPolicy(models.TextChoices):
        # labeling/multilabel_verdicts.py: what an emotion left 2:2 does to its item.
        DISCARD = "discard", "discard the item"
        MARK = "mark", "mark that emotion undecided, keep the rest"

    name = models.CharField(max_length=200, unique=True)
    corpus = models.ForeignKey(Corpus, on_delete=models.PROTECT, related_name="campaigns")
    labels = models.JSONField(
        default=default_labels,
        help_text='Label set in display order: [{"name": "happiness", "key": "1"}, ...]',
    )
    modalities = models.CharField(
        max_length=4, default="tavm", help_text="Modalities to collect: any of t, a, v, m."
    )
    label_mode = models.CharField(
        max_length=16,
        choices=LabelMode.choices,
        default=LabelMode.SINGLE,
        help_text="Fixed once the campaign has jobs.",
    )
    allow_none = models.BooleanField(
        default=False, help_text='Multi-label: "none of these" is an answer annotators may give.'
    )
    undecided_policy = models.CharField(
        max_length=16,
        choices=UndecidedPolicy.choices,
        default=UndecidedPolicy.DISCARD,
        help_text="Multi-label: an item whose emotion ends undecided (2:2) is discarded, or "
        "only that emotion is marked undecided.",
    )
    initial_votes = models.PositiveSmallIntegerField(default=3)
    agreement = models.PositiveSmallIntegerField(default=3, help_text="Votes a label needs.")
    max_votes = models.PositiveSmallIntegerField(default=4)
    lease_seconds = models.PositiveIntegerField(default=600)
    independence_guard = models.BooleanField(
        default=True,
        help_text="Never give an annotator an utterance they have seen in another modality.",
    )
    annotators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="campaigns", help_text="The pool."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    assignment_seed = models.PositiveIntegerField(
        default=new_assignment_seed,
        help_text="Shuffles the order jobs are handed out in (labeling/interleave.py).",
    )

    # Screening: which clips become jobs (labeling/services/screening.py).
    automatic_screening = models.BooleanField(
        default=False,
        help_text="Only clips that pass the automatic checks below become jobs.",
    )
    screen_min_seconds = models.FloatField(default=1.0)
    screen_max_seconds = models.FloatField(default=30.0)
    screen_min_loudness_db = models.FloatField(
        default=-45.0, help_text="Audio quieter than this (RMS, dBFS) counts as silent."
    )
    screen_min_voiced_share = models.FloatField(
        default=0.2, help_text="Share of 50 ms windows that must be above the silence level."
    )
    screen_min_face_share = models.FloatField(
        default=0.6, help_text="Share of sampled frames that must show exactly one face."
    )
    human_screening = models.BooleanField(
        default=False, help_text="A screener accepts each clip before it becomes jobs."
    )
    screeners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="screening_campaigns"
    )
    # Hidden gold checks (labeling/services/qualification.py).
    gold_share = models.FloatField(
        default=0.0, help_text="Share of served tasks that are hidden gold checks (0 to 0.5)."
    )
    gold_pause_below = models.FloatField(
        default=0.0,
        help_text="Pause an annotator whose gold accuracy in a modality falls below this "
        "(0 never pauses).",
    )
    gold_min_answers = models.PositiveSmallIntegerField(
        default=10, help_text="Gold answers in a modality before accuracy can pause anyone."
    )

    # The model in the loop (labeling/services/predictions.py). Annotators never see it.
    class JobOrder(models.TextChoices):
        ID = "id", "by id"
        SHUFFLED = "shuffled", "shuffled, interleaved across modalities"
        UNCERTAINTY = "uncertainty", "most uncertain first (entropy of the modality's head)"
        DISAGREEMENT = "disagreement", "heads disagree first (modality's head versus m)"
        UNCERTAIN_UTTERANCES = (
            "utterances",
            "whole utterances, most uncertain first (entropy of the m head; shuffled "
            "before a model), their jobs together",
        )

    job_order = models.CharField(
        max_length=16,
        choices=JobOrder.choices,
        default=JobOrder.SHUFFLED,
        help_text="Order jobs are handed out in; the model orders need the assistant run.",
    )
    assistant_run = models.ForeignKey(
        "labeling.TrainingRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assisted_campaigns",
        help_text="The run whose predictions order jobs, show in review and flag suspect votes.",
    )
    suspect_confidence = models.FloatField(
        default=0.8,
        help_text="A vote is suspect when it disagrees with the verdict and with a model "
        "prediction at least this confident.",
    )
    suspect_pause_above = models.FloatField(
        default=0.0,
        help_text="Pause an annotator whose suspect-vote rate in a modality rises above this "
        "(0 never pauses).",
    )
    suspect_min_votes = models.PositiveSmallIntegerField(
        default=20, help_text="Decided votes in a modality before the suspect rate can pause."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(agreement__lte=models.F("max_votes"))
                & models.Q(initial_votes__lte=models.F("max_votes"))
                & models.Q(agreement__gte=1)
                & models.Q(initial_votes__gte=1),
                name="campaign_rule_is_consistent",
            ),
            # More than half of max_votes: two labels can never both reach the agreement.
            models.CheckConstraint(
                condition=models.Q(agreement__gt=models.F("max_votes") - models.F("agreement")),
                name="campaign_agreement_is_a_majority",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def rule(self) -> VotingRule:
        return VotingRule(self.initial_votes, self.agreement, self.max_votes)

    @property
    def label_names(self) -> list[str]:
        return [label["name"] for label in self.labels]

    @property
    def is_multi_label(self) -> bool:
        return self.label_mode == self.LabelMode.MULTI


class Job(models.Model):
    """One label to collect: an utterance seen through one modality, in one campaign."""

    class Priority(models.IntegerChoices):
        # Assignment order: jobs a further vote can settle first, then unfinished ones.
        NEEDS_VOTE = 0
        OPEN = 1
        FINAL = 9

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="jobs")
    utterance = models.ForeignKey(Utterance, on_delete=models.CASCADE, related_name="jobs")
    modality = models.CharField(max_length=1, choices=Modality.choices)
    state = models.CharField(
        max_length=16, choices=[(s.value, s.value) for s in State], default=State.OPEN
    )
    priority = models.PositiveSmallIntegerField(default=Priority.OPEN)
    label = models.CharField(max_length=64, blank=True, help_text="The decided label.")
    label_set = models.JSONField(
        null=True,
        blank=True,
        help_text="Multi-label, decided: the present emotions in the campaign's label order.",
    )
    undecided_labels = models.JSONField(
        default=list,
        blank=True,
        help_text='Multi-label, policy "mark": emotions left undecided (2:2).',
    )
    votes_count = models.PositiveSmallIntegerField(default=0)
    turn = models.PositiveIntegerField(
        default=0, help_text="Place in the interleaved hand-out order (labeling/interleave.py)."
    )
    extra_votes = models.PositiveSmallIntegerField(
        default=0, help_text="Votes a reviewer allowed beyond the rule's maximum (re-open)."
    )
    override_label = models.CharField(
        max_length=64, blank=True, help_text="A reviewer's label; the automatic verdict stays."
    )
    override_label_set = models.JSONField(
        null=True,
        blank=True,
        help_text="Multi-label: a reviewer's set of emotions; the automatic verdict stays.",
    )
    excluded = models.BooleanField(default=False, help_text="A reviewer excluded the utterance.")
    source = models.CharField(
        max_length=16,
        default="votes",
        choices=[("votes", "votes"), ("imported", "imported")],
        help_text="imported: a decided label brought in from elsewhere, not voted here.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "utterance", "modality"], name="one_job_per_utterance_modality"
            )
        ]
        indexes = [
            models.Index(
                fields=["campaign", "priority", "-votes_count", "turn", "id"],
                name="job_assignment_order",
            ),
            # The dashboard's cache key: when the campaign's jobs last changed.
            models.Index(fields=["campaign", "updated_at"], name="job_changed_by_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.utterance} [{self.modality}] {self.state}"

    @property
    def rule(self) -> VotingRule:
        """The campaign's rule, with any extra votes a reviewer allowed on this job."""
        campaign = self.campaign
        return VotingRule(
            campaign.initial_votes, campaign.agreement, campaign.max_votes + self.extra_votes
        )

    @property
    def final_label(self) -> str:
        """The label the dataset uses: a reviewer's override, else the decided verdict."""
        if self.excluded:
            return ""
        return self.override_label or (self.label if self.state == State.DECIDED else "")

    @property
    def verdict_text(self) -> str:
        """The decided label, or a multi-label job's decided emotions (and undecided ones),
        as people read them; "" while there is none."""
        if self.label_set is None:
            return self.label
        shown = label_set_text(self.label_set)
        if self.undecided_labels:
            shown += f" (undecided: {', '.join(self.undecided_labels)})"
        return shown

    @property
    def override_text(self) -> str:
        """A reviewer's label or set of emotions, as people read it; "" when none."""
        if self.override_label_set is None:
            return self.override_label
        return label_set_text(self.override_label_set)

    @property
    def final_text(self) -> str:
        """What the dataset uses, as people read it; "" when nothing."""
        final = self.final_label_set
        return self.final_label if final is None else label_set_text(final)

    @property
    def final_label_set(self) -> list[str] | None:
        """Multi-label: the emotions the dataset uses (a reviewer's set, else the decided
        one); None when the job has none (excluded, discarded, not decided yet)."""
        if self.excluded:
            return None
        if self.override_label_set is not None:
            return self.override_label_set
        return self.label_set if self.state == State.DECIDED else None


class Lease(models.Model):
    """A task handed to one annotator until `expires_at`.

    Most leases are on a job (a vote for the dataset). The others are on a gold item: a
    training question, an exam question, or a hidden gold check. A check is served and
    shown exactly like a job so the annotator cannot tell them apart; its answer becomes a
    GoldAnswer, never a Vote.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUBMITTED = "submitted"
        SKIPPED = "skipped"
        EXPIRED = "expired"
        # Fetched ahead (prefetched) and given back unused: not a skip, but the annotator's
        # browser may have loaded its media, so the guard still counts it as seen.
        RELEASED = "released"

    class Kind(models.TextChoices):
        JOB = "job", "job"
        CHECK = "check", "hidden gold check"
        TRAINING = "training", "training question"
        EXAM = "exam", "exam question"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="leases")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.JOB)
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.CASCADE, related_name="leases"
    )
    gold_item = models.ForeignKey(
        "labeling.GoldItem", null=True, blank=True, on_delete=models.CASCADE, related_name="leases"
    )
    exam_attempt = models.ForeignKey(
        "labeling.ExamAttempt",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="leases",
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leases"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    ahead = models.BooleanField(
        default=False,
        help_text="Fetched ahead (prefetched) while the annotator answers another task, not "
        "shown yet; its time starts when it is shown (shown_at, a new expiry).",
    )
    shown_at = models.DateTimeField(
        default=timezone.now, help_text="When the task was shown; seconds spent count from here."
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "annotator"], name="one_lease_per_job_annotator"
            ),
            models.UniqueConstraint(
                fields=["gold_item", "annotator"],
                condition=models.Q(kind="check"),
                name="one_gold_check_per_annotator",
            ),
            # A training question whose lease expired may be asked again; one answer each.
            models.UniqueConstraint(
                fields=["gold_item", "annotator"],
                condition=models.Q(kind="training", status__in=["active", "submitted"]),
                name="one_training_answer_per_annotator",
            ),
            models.UniqueConstraint(
                fields=["exam_attempt", "gold_item"],
                condition=models.Q(kind="exam"),
                name="one_lease_per_exam_question",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="job", job__isnull=False, gold_item__isnull=True)
                    | (~models.Q(kind="job") & models.Q(job__isnull=True, gold_item__isnull=False))
                )
                & (models.Q(kind="exam") | models.Q(exam_attempt__isnull=True))
                & (~models.Q(kind="exam") | models.Q(exam_attempt__isnull=False)),
                name="lease_is_on_a_job_or_a_gold_item",
            ),
        ]
        indexes = [
            models.Index(fields=["job", "status", "expires_at"], name="lease_live_by_job"),
            models.Index(fields=["annotator", "campaign", "status"], name="lease_by_member"),
            models.Index(fields=["annotator", "status"], name="lease_by_annotator"),
        ]

    def __str__(self) -> str:
        return (
            f"lease {self.pk} of {self.job or self.gold_item} to {self.annotator} ({self.status})"
        )

    @property
    def utterance_modality(self) -> tuple:
        """(utterance, modality) this lease shows, whether a job or a gold item."""
        target = self.job if self.job_id else self.gold_item
        return target.utterance, target.modality


class Vote(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="votes")
    # The job's campaign and whether the vote names its final label, kept with every vote
    # and verdict (services/tallies.py): annotator quality reads a campaign's votes alone.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="+", editable=False
    )
    agrees = models.BooleanField(
        null=True,
        blank=True,
        editable=False,
        help_text="Names the job's final label (a reviewer's, else the decided verdict; "
        "multi-label: exactly its set); empty while the job has none or is excluded.",
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes"
    )
    lease = models.OneToOneField(Lease, on_delete=models.CASCADE, related_name="vote")
    label = models.CharField(max_length=64, blank=True, help_text="Single-label votes.")
    label_set = models.JSONField(
        null=True,
        blank=True,
        help_text="Multi-label votes: the chosen emotions in the campaign's label order "
        '([] is "none of these").',
    )
    seconds_spent = models.FloatField(help_text="From the task being shown to the answer.")
    created_at = models.DateTimeField(auto_now_add=True)
    revised_at = models.DateTimeField(
        null=True, blank=True, help_text="When the annotator last changed this answer."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "annotator"], name="one_vote_per_job_annotator"),
            # A vote is either one label (single-label) or a set of them (multi-label).
            models.CheckConstraint(
                condition=(~models.Q(label="") & models.Q(label_set__isnull=True))
                | (models.Q(label="") & models.Q(label_set__isnull=False)),
                name="vote_is_a_label_or_a_label_set",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} → {self.answer} on {self.job}"

    def save(self, *args, **kwargs):
        if self.campaign_id is None and self.job_id is not None:
            self.campaign_id = self.job.campaign_id
        super().save(*args, **kwargs)

    @property
    def answer(self) -> str:
        """The vote as people read it: the label, or the set of emotions."""
        return self.label if self.label_set is None else label_set_text(self.label_set)


class ImportedVote(models.Model):
    """A raw vote from a dataset labelled outside this tool (for agreement statistics)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="imported_votes")
    rater = models.CharField(max_length=200)
    label = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "rater"], name="one_imported_vote_per_rater")
        ]

    def __str__(self) -> str:
        return f"{self.rater} → {self.label} on {self.job} (imported)"


class AnnotatorPause(models.Model):
    """This annotator is paused in this campaign (by a reviewer or by gold accuracy): they
    get no new tasks."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="pauses")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    reason = models.TextField()
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "annotator"], name="one_pause_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.annotator} paused in {self.campaign}"


class ReviewAction(models.Model):
    """The audit log of reviewers' actions: who, when, what before and after, and why."""

    class Kind(models.TextChoices):
        REOPEN = "reopen", "re-open for more votes"
        SET_LABEL = "set_label", "set a label"
        EXCLUDE = "exclude", "exclude the utterance"
        PAUSE = "pause", "pause an annotator"
        AUTO_PAUSE = "auto_pause", "paused automatically (gold accuracy or suspect votes)"
        RESUME = "resume", "resume an annotator"
        TRANSCRIPT = "transcript", "edit the transcript after votes"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="review_actions")
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.CASCADE, related_name="review_actions"
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The annotator a pause or resume is about.",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when the system acted (an automatic pause).",
    )
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        actor = self.actor or "the system"
        return f"{self.get_kind_display()} by {actor} at {self.created_at:%Y-%m-%d %H:%M}"
