"""Screeners' page and JSON API: thin translation between HTTP and the screening services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from labeling.api import refused
from labeling.models import Campaign, ClipScreening
from labeling.selectors.screening import clip_payload, reasons, screener_progress
from labeling.services.screening import (
    ScreeningError,
    check_screener,
    next_clip_to_screen,
    screen_clip,
)


class DecisionSerializer(serializers.Serializer):
    accept = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=ClipScreening.Reason.choices, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


ClipSerializer = inline_serializer(
    "ClipToScreen",
    {
        "screening": serializers.IntegerField(),
        "campaign": serializers.IntegerField(),
        "transcript": serializers.CharField(),
        "duration_seconds": serializers.FloatField(),
        "media_url": serializers.CharField(),
        "expires_at": serializers.DateTimeField(),
        "seconds_left": serializers.IntegerField(),
    },
)
ProgressSerializer = inline_serializer(
    "ScreeningProgress",
    {
        "campaign": serializers.IntegerField(),
        "decided": serializers.IntegerField(),
        "accepted": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "waiting": serializers.IntegerField(),
    },
)


@login_required
def screen_page(request, campaign_id: int):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        check_screener(request.user, campaign)
    except ScreeningError as error:
        return render(
            request, "annotate/refused.html", {"message": str(error)}, status=error.status
        )
    return render(request, "screening/screen.html", {"campaign": campaign, "reasons": reasons()})


@extend_schema(
    request=None,
    responses=inline_serializer(
        "NextClip", {"clip": ClipSerializer, "progress": ProgressSerializer}
    ),
)
@api_view(["POST"])
def next_clip_view(request, campaign_id: int):
    """Your current clip to screen, or a new one; `clip` is null when none is left."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        screening = next_clip_to_screen(request.user, campaign)
    except ScreeningError as error:
        return refused(error)
    return Response(
        {
            "clip": clip_payload(screening) if screening else None,
            "progress": screener_progress(request.user, campaign),
        }
    )


@extend_schema(
    request=DecisionSerializer,
    responses=inline_serializer(
        "Screened",
        {
            "screening": serializers.IntegerField(),
            "status": serializers.CharField(),
            "reason": serializers.CharField(),
            "repeated": serializers.BooleanField(),
        },
    ),
)
@api_view(["POST"])
def decide_view(request, screening_id: int):
    """Accept or reject your clip; a rejection needs a reason (and a note for "other").
    Sending the same decision again changes nothing."""
    data = DecisionSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        decision = screen_clip(request.user, screening_id, **data.validated_data)
    except ScreeningError as error:
        return refused(error)
    screening = decision.screening
    return Response(
        {
            "screening": screening.pk,
            "status": screening.status,
            "reason": screening.reason,
            "repeated": decision.repeated,
        },
        status=status.HTTP_200_OK if decision.repeated else status.HTTP_201_CREATED,
    )


@extend_schema(responses=ProgressSerializer)
@api_view(["GET"])
def progress_view(request, campaign_id: int):
    """Clips you decided in the campaign, and how many still wait for a screener."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        check_screener(request.user, campaign)
    except ScreeningError as error:
        return refused(error)
    return Response(screener_progress(request.user, campaign))
