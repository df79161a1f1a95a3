from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from labeling.http import private_file_response
from labeling.models import Campaign, Rendition
from labeling.roles import is_reviewer, reviewable_campaigns
from labeling.selectors.annotation import annotator_campaigns, can_view_rendition
from labeling.selectors.corpora import corpus_overview
from labeling.selectors.qualification import qualified_modalities
from labeling.services.assignment import AnnotationError, check_member
from labeling.storage import media_path


def home(request):
    context = {"corpora": [], "campaigns": [], "review_campaigns": []}
    if request.user.is_staff:
        context["corpora"] = corpus_overview()
    if request.user.is_authenticated:
        context["campaigns"] = annotator_campaigns(request.user)
    if is_reviewer(request.user):
        context["review_campaigns"] = reviewable_campaigns(request.user).order_by("name")
    return render(request, "home.html", context)


def _viewable_rendition(request, rendition_id: int) -> Rendition:
    if not request.user.is_authenticated:
        raise PermissionDenied("Log in first.")
    rendition = get_object_or_404(Rendition, pk=rendition_id, status=Rendition.Status.DONE)
    if not can_view_rendition(request.user, rendition):
        raise PermissionDenied("You hold no live task on this media.")
    return rendition


def rendition_file(request, rendition_id: int):
    """A rendition's bytes: for staff, or for the annotator whose live lease shows this modality."""
    rendition = _viewable_rendition(request, rendition_id)
    path = media_path(rendition.file)
    if not path.is_file():
        raise Http404("The rendition file is missing; retry the rendition in the admin.")
    response = private_file_response(request, path, rendition.content_type)
    response["Cache-Control"] = "private, no-store"
    return response


def rendition_subtitles(request, rendition_id: int):
    """The transcript as a WebVTT subtitle, for the full (m) modality only."""
    rendition = _viewable_rendition(request, rendition_id)
    if rendition.modality != "m":
        raise PermissionDenied("Subtitles belong to the full video only.")
    utterance = rendition.utterance
    end = utterance.duration_seconds
    cue = f"00:00:00.000 --> {int(end // 3600):02d}:{int(end % 3600 // 60):02d}:{end % 60:06.3f}"
    body = f"WEBVTT\n\n1\n{cue}\n{utterance.transcript}\n"
    response = HttpResponse(body, content_type="text/vtt; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def annotate(request, campaign_id: int):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    try:
        check_member(request.user, campaign)
    except AnnotationError as error:
        return render(
            request, "annotate/refused.html", {"message": str(error)}, status=error.status
        )
    examined = campaign.exams.exists()
    if examined and not qualified_modalities(request.user, campaign):
        return redirect("qualification", campaign.pk)  # nothing to annotate before an exam
    context = {
        "campaign": campaign,
        "mode": "task",
        "next_url": reverse("api-next-task", args=[campaign.pk]),
        "qualification_url": reverse("qualification", args=[campaign.pk]) if examined else "",
    }
    return render(request, "annotate/task.html", context)
