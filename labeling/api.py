"""REST API for annotators: thin translation between HTTP and the assignment services."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from labeling.models import Campaign
from labeling.selectors.annotation import annotator_campaigns, my_progress, task_payload
from labeling.services.assignment import (
    AnnotationError,
    check_member,
    next_task,
    skip_task,
    submit_vote,
)


class SubmitSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=64)
    seconds_spent = serializers.FloatField(required=False, min_value=0)


class SkipSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


TaskSerializer = inline_serializer(
    "Task",
    {
        "lease": serializers.IntegerField(),
        "campaign": serializers.IntegerField(),
        "modality": serializers.ChoiceField(choices=list("tavm")),
        "modality_name": serializers.CharField(),
        "expires_at": serializers.DateTimeField(),
        "seconds_left": serializers.IntegerField(),
        "labels": serializers.ListField(child=serializers.DictField()),
        "media_kind": serializers.CharField(allow_null=True),
        "media_url": serializers.CharField(allow_null=True),
        "subtitles_url": serializers.CharField(allow_null=True),
        "transcript": serializers.CharField(allow_null=True),
    },
)
NextSerializer = inline_serializer("NextTask", {"task": TaskSerializer})


def refused(error: AnnotationError) -> Response:
    return Response({"error": error.code, "detail": str(error)}, status=error.status)


@extend_schema(responses=inline_serializer("Campaigns", {"campaigns": serializers.ListField()}))
@api_view(["GET"])
def campaigns(request):
    """The active campaigns you annotate, with your progress."""
    return Response({"campaigns": annotator_campaigns(request.user)})


@extend_schema(request=None, responses=NextSerializer)
@api_view(["POST"])
def next_task_view(request, campaign_id: int):
    """Your current task in the campaign, or a new one; `task` is null when none is left for you."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        lease = next_task(request.user, campaign)
    except AnnotationError as error:
        return refused(error)
    return Response({"task": task_payload(lease) if lease else None})


@extend_schema(
    request=SubmitSerializer,
    responses=inline_serializer(
        "Submitted",
        {
            "vote": serializers.IntegerField(),
            "label": serializers.CharField(),
            "repeated": serializers.BooleanField(),
        },
    ),
)
@api_view(["POST"])
def submit_view(request, lease_id: int):
    """Answer your task with one label. Submitting the same answer again changes nothing."""
    data = SubmitSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        submission = submit_vote(
            request.user,
            lease_id,
            data.validated_data["label"],
            data.validated_data.get("seconds_spent"),
        )
    except AnnotationError as error:
        return refused(error)
    code = status.HTTP_200_OK if submission.repeated else status.HTTP_201_CREATED
    return Response(
        {
            "vote": submission.vote.pk,
            "label": submission.vote.label,
            "repeated": submission.repeated,
        },
        status=code,
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
