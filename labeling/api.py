"""REST API: thin translation between HTTP and the services, for annotators (and one read
for reviewers: a campaign's pool)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from labeling.models import Campaign, Lease
from labeling.roles import is_reviewer
from labeling.selectors.annotation import (
    annotator_campaigns,
    campaign_by_id,
    my_progress,
    task_payload,
)
from labeling.selectors.pool import campaign_is_stuck, pool_check, pool_members, stuck_jobs
from labeling.selectors.qualification import qualification_status, training_left
from labeling.services.assignment import (
    AnnotationError,
    check_member,
    next_task,
    release_task,
    revise_answer,
    skip_task,
    submit_vote,
)
from labeling.services.qualification import next_exam_question, next_training_question, start_exam


class AnswerSerializer(serializers.Serializer):
    """One label (single-label campaigns) or the list of labels that apply (multi-label)."""

    label = serializers.CharField(
        max_length=64, required=False, help_text="Single-label campaigns: the one label."
    )
    labels = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        allow_empty=True,
        max_length=64,
        help_text='Multi-label campaigns: every label that applies; [] is "none of these" '
        "where the campaign allows it.",
    )

    def validate(self, data):
        if ("label" in data) == ("labels" in data):
            raise serializers.ValidationError(
                'Send either "label" (a single-label campaign) or "labels" (a list, on a '
                "multi-label campaign), not both or neither."
            )
        return data

    @property
    def answer(self):
        data = self.validated_data
        return data["labels"] if "labels" in data else data["label"]


class SubmitSerializer(AnswerSerializer):
    seconds_spent = serializers.FloatField(required=False, min_value=0)


class SkipSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


TaskSerializer = inline_serializer(
    "Task",
    {
        "lease": serializers.IntegerField(),
        "mode": serializers.ChoiceField(choices=["task", "training", "exam"]),
        "campaign": serializers.IntegerField(),
        "modality": serializers.ChoiceField(choices=list("tavm")),
        "modality_name": serializers.CharField(),
        "expires_at": serializers.DateTimeField(),
        "seconds_left": serializers.IntegerField(),
        "labels": serializers.ListField(child=serializers.DictField()),
        "label_mode": serializers.ChoiceField(
            choices=Campaign.LabelMode.values,
            help_text="single-label: answer with one label; multi-label: with every label "
            "that applies.",
        ),
        "allow_none": serializers.BooleanField(
            help_text='Multi-label: whether "none of these" (labels: []) is an answer.'
        ),
        "media_kind": serializers.CharField(allow_null=True),
        "media_url": serializers.CharField(allow_null=True),
        "subtitles_url": serializers.CharField(allow_null=True),
        "transcript": serializers.CharField(allow_null=True),
    },
)
NextSerializer = inline_serializer(
    "NextTask",
    {
        "task": TaskSerializer,
        "campaign_stuck": serializers.BooleanField(
            help_text="With no task left for you: true when some jobs need votes nobody left "
            "in the pool may give (the organisers see them on the dashboard)."
        ),
    },
)


def refused(error: AnnotationError) -> Response:
    return Response({"error": error.code, "detail": str(error)}, status=error.status)


@extend_schema(responses=inline_serializer("Campaigns", {"campaigns": serializers.ListField()}))
@api_view(["GET"])
def campaigns(request):
    """The active campaigns you annotate, with your progress."""
    return Response({"campaigns": annotator_campaigns(request.user)})


class AheadOfSerializer(serializers.Serializer):
    ahead_of = serializers.IntegerField(required=False, min_value=1)


@extend_schema(
    request=None,
    responses=NextSerializer,
    parameters=[
        OpenApiParameter(
            "ahead_of",
            OpenApiTypes.INT,
            OpenApiParameter.QUERY,
            required=False,
            description="The lease of the task you are shown now: get your next task ahead "
            "(prefetch), to show when you have answered this one. You never hold more than "
            "the current and the next; calling next without it shows (promotes) the task "
            "fetched ahead, its time counting from then.",
        )
    ],
)
@api_view(["POST"])
def next_task_view(request, campaign_id: int):
    """Your current task in the campaign, or a new one; `task` is null when none is left for you."""
    campaign = campaign_by_id(campaign_id)
    if campaign is None:
        raise Http404("No such campaign.")
    query = AheadOfSerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    try:
        lease = next_task(request.user, campaign, ahead_of=query.validated_data.get("ahead_of"))
    except AnnotationError as error:
        return refused(error)
    if lease is None:
        return Response({"task": None, "campaign_stuck": campaign_is_stuck(campaign)})
    return Response({"task": task_payload(lease), "campaign_stuck": False})


@extend_schema(
    request=SubmitSerializer,
    responses=inline_serializer(
        "Submitted",
        {
            "lease": serializers.IntegerField(),
            "label": serializers.CharField(help_text='"" on a multi-label campaign.'),
            "labels": serializers.ListField(
                child=serializers.CharField(),
                allow_null=True,
                help_text="Multi-label: the labels recorded, in the campaign's order.",
            ),
            "repeated": serializers.BooleanField(),
            "feedback": serializers.DictField(allow_null=True),
        },
    ),
)
@api_view(["POST"])
def submit_view(request, lease_id: int):
    """Answer your task: `label` on a single-label campaign, `labels` (every label that
    applies) on a multi-label one. Submitting the same answer again changes nothing.

    `feedback` is set for training questions (the expected label and its explanation) and
    exam questions (how many are answered); it is null for tasks."""
    data = SubmitSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        submission = submit_vote(
            request.user, lease_id, data.answer, data.validated_data.get("seconds_spent")
        )
    except AnnotationError as error:
        return refused(error)
    code = status.HTTP_200_OK if submission.repeated else status.HTTP_201_CREATED
    feedback = submission.feedback
    return Response(
        {
            "lease": submission.lease.pk,
            "label": submission.label,
            "labels": submission.label_set,
            "repeated": submission.repeated,
            "feedback": feedback.as_dict() if feedback else None,
        },
        status=code,
    )


@extend_schema(
    request=AnswerSerializer,
    responses=inline_serializer(
        "Revised",
        {
            "lease": serializers.IntegerField(),
            "label": serializers.CharField(),
            "labels": serializers.ListField(child=serializers.CharField(), allow_null=True),
            "repeated": serializers.BooleanField(),
        },
    ),
)
@api_view(["POST"])
def revise_view(request, lease_id: int):
    """Change your last answer in its campaign while its task is still open (409 once it
    was decided). Training and exam answers cannot be changed."""
    data = AnswerSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        revised = revise_answer(request.user, lease_id, data.answer)
    except AnnotationError as error:
        return refused(error)
    return Response(
        {
            "lease": revised.lease.pk,
            "label": revised.label,
            "labels": revised.label_set,
            "repeated": revised.repeated,
        }
    )


@extend_schema(
    request=SkipSerializer,
    responses=inline_serializer("Skipped", {"lease": serializers.IntegerField()}),
)
@api_view(["POST"])
def skip_view(request, lease_id: int):
    """Give the task back; you will not get it again."""
    data = SkipSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        lease = skip_task(request.user, lease_id, data.validated_data["reason"])
    except AnnotationError as error:
        return refused(error)
    return Response({"lease": lease.pk, "status": lease.status})


@extend_schema(
    request=None,
    responses=inline_serializer(
        "Released", {"lease": serializers.IntegerField(), "status": serializers.CharField()}
    ),
)
@api_view(["POST"])
def release_view(request, lease_id: int):
    """Give back a task fetched ahead (`next?ahead_of=`) that you were not shown; releasing
    it again changes nothing. The task page does this when you leave it."""
    try:
        lease = release_task(request.user, lease_id)
    except AnnotationError as error:
        return refused(error)
    return Response({"lease": lease.pk, "status": lease.status})


@extend_schema(
    responses=inline_serializer(
        "Progress",
        {
            "campaign": serializers.IntegerField(),
            "submitted": serializers.IntegerField(),
            "skipped": serializers.IntegerField(),
            "expired": serializers.IntegerField(),
        },
    )
)
@api_view(["GET"])
def progress_view(request, campaign_id: int):
    """Your own progress in the campaign."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        check_member(request.user, campaign)
    except AnnotationError as error:
        return refused(error)
    return Response(my_progress(request.user, campaign))


AttemptSerializer = inline_serializer(
    "ExamAttempt",
    {
        "id": serializers.IntegerField(),
        "modality": serializers.CharField(),
        "number": serializers.IntegerField(),
        "questions": serializers.IntegerField(),
        "answered": serializers.IntegerField(),
        "finished": serializers.BooleanField(),
        "score": serializers.FloatField(allow_null=True),
        "passed": serializers.BooleanField(allow_null=True),
        "pass_mark": serializers.FloatField(),
    },
)


def attempt_summary(attempt) -> dict:
    return {
        "id": attempt.pk,
        "modality": attempt.exam.modality,
        "number": attempt.number,
        "questions": len(attempt.questions),
        "answered": attempt.leases.exclude(status=Lease.Status.ACTIVE).count(),
        "finished": attempt.finished_at is not None,
        "score": attempt.score,
        "passed": attempt.passed,
        "pass_mark": attempt.exam.pass_mark,
    }


@extend_schema(
    responses=inline_serializer("Qualification", {"modalities": serializers.ListField()})
)
@api_view(["GET"])
def qualification_view(request, campaign_id: int):
    """Your training, exam attempts and qualification per modality of the campaign."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        check_member(request.user, campaign)
    except AnnotationError as error:
        return refused(error)
    return Response({"modalities": qualification_status(request.user, campaign)})


@extend_schema(
    request=None,
    responses=inline_serializer(
        "TrainingQuestion", {"task": TaskSerializer, "left": serializers.IntegerField()}
    ),
)
@api_view(["POST"])
def training_next_view(request, campaign_id: int, modality: str):
    """Your current training question of the modality, or the next; null when all are done."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        lease = next_training_question(request.user, campaign, modality)
    except AnnotationError as error:
        return refused(error)
    return Response(
        {
            "task": task_payload(lease) if lease else None,
            "left": training_left(request.user, campaign, modality),
        }
    )


@extend_schema(request=None, responses={201: AttemptSerializer})
@api_view(["POST"])
def exam_start_view(request, campaign_id: int, modality: str):
    """Start an attempt at the modality's exam (or get your unfinished one)."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        attempt = start_exam(request.user, campaign, modality)
    except AnnotationError as error:
        return refused(error)
    return Response(attempt_summary(attempt), status=status.HTTP_201_CREATED)


@extend_schema(
    request=None,
    responses=inline_serializer(
        "ExamQuestion", {"task": TaskSerializer, "attempt": AttemptSerializer}
    ),
)
@api_view(["POST"])
def exam_next_view(request, attempt_id: int):
    """The attempt's current question or the next; `task` is null once it is finished,
    and `attempt` then has the score."""
    try:
        attempt, lease = next_exam_question(request.user, attempt_id)
    except AnnotationError as error:
        return refused(error)
    return Response(
        {"task": task_payload(lease) if lease else None, "attempt": attempt_summary(attempt)}
    )


PoolSerializer = inline_serializer(
    "Pool",
    {
        "campaign": serializers.IntegerField(),
        "independence_guard": serializers.BooleanField(),
        "modalities": serializers.CharField(),
        "needed": inline_serializer(
            "PoolNeed",
            {
                "to_start": serializers.IntegerField(),
                "to_finish": serializers.IntegerField(),
                "per": serializers.ChoiceField(choices=["utterance", "modality"]),
            },
        ),
        "available": serializers.IntegerField(),
        "available_per_modality": serializers.DictField(child=serializers.IntegerField()),
        "short_to_start": serializers.IntegerField(),
        "short_to_finish": serializers.IntegerField(),
        "warning": serializers.CharField(),
        "stuck": inline_serializer(
            "StuckJobs",
            {
                "total": serializers.IntegerField(),
                "per_modality": serializers.DictField(
                    child=serializers.DictField(child=serializers.IntegerField())
                ),
                "add_annotators": serializers.IntegerField(),
                "fix": serializers.CharField(),
            },
        ),
    },
)


@extend_schema(responses=PoolSerializer)
@api_view(["GET"])
def pool_view(request, campaign_id: int):
    """For reviewers and admins: the annotators the campaign's rule needs beside those in its
    pool who may vote, and its stuck jobs (per modality and reason) with the fix."""
    if not is_reviewer(request.user):
        return Response(
            {"error": "not_reviewer", "detail": "Only reviewers and admins see a campaign's pool."},
            status=status.HTTP_403_FORBIDDEN,
        )
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    members = pool_members(campaign)
    return Response(
        {
            "campaign": campaign.pk,
            **pool_check(campaign, members).as_dict(),
            "stuck": stuck_jobs(campaign, members).as_dict(),
        }
    )
