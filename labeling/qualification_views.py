"""Pages for annotators' qualification: the status page, training and exam questions.

The questions are answered on the annotate page in another mode; these views only pick
the API it talks to. Rules live in services.qualification and selectors.qualification.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from labeling.models import Campaign, ExamAttempt, Modality
from labeling.selectors.qualification import qualification_status
from labeling.services.assignment import AnnotationError, check_member
from labeling.services.qualification import start_exam


def _member_campaign(request, campaign_id: int):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    check_member(request.user, campaign)
    return campaign


def _refused(request, error: AnnotationError):
    return render(request, "annotate/refused.html", {"message": str(error)}, status=error.status)


@login_required
def qualification(request, campaign_id: int):
    try:
        campaign = _member_campaign(request, campaign_id)
    except AnnotationError as error:
        return _refused(request, error)
    rows = qualification_status(request.user, campaign)
    return render(
        request,
        "annotate/qualification.html",
        {
            "campaign": campaign,
            "rows": rows,
            "any_qualified": any(row["qualified"] for row in rows),
        },
    )


@login_required
def training(request, campaign_id: int, modality: str):
    try:
        campaign = _member_campaign(request, campaign_id)
    except AnnotationError as error:
        return _refused(request, error)
    if modality not in campaign.modalities:
        raise Http404("This campaign does not collect that modality.")
    return render(
        request,
        "annotate/task.html",
        {
            "campaign": campaign,
            "mode": "training",
            "heading": f"training, {Modality(modality).label}",
            "next_url": reverse("api-training-next", args=[campaign.pk, modality]),
            "done_url": reverse("qualification", args=[campaign.pk]),
        },
    )


@login_required
@require_POST
def exam_start(request, campaign_id: int, modality: str):
    try:
        campaign = _member_campaign(request, campaign_id)
        attempt = start_exam(request.user, campaign, modality)
    except AnnotationError as error:
        messages.error(request, str(error))
        return redirect("qualification", campaign_id)
    return redirect("exam", attempt.pk)


@login_required
def exam(request, attempt_id: int):
    attempt = get_object_or_404(
        ExamAttempt.objects.select_related("exam__campaign"), pk=attempt_id, annotator=request.user
    )
    campaign = attempt.exam.campaign
    return render(
        request,
        "annotate/task.html",
        {
            "campaign": campaign,
            "mode": "exam",
            "heading": f"exam, {attempt.exam.get_modality_display()}, attempt {attempt.number}",
            "next_url": reverse("api-exam-next", args=[attempt.pk]),
            "done_url": reverse("qualification", args=[campaign.pk]),
        },
    )
