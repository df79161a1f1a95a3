"""Reviewer pages: dashboard with plots, disagreement queue, job review, annotator quality.

Thin: reads come from `labeling.selectors.statistics`, writes from `labeling.services.review`.
"""

from __future__ import annotations

import csv
import io
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from labeling.models import Campaign, Job
from labeling.report import (
    FIGURES,
    FORMATS,
    MULTILABEL_FIGURES,
    figures_of,
    flatten_statistics,
    table_lines,
)
from labeling.roles import is_reviewer
from labeling.selectors.dashboard_cache import (
    cached_figure_svg,
    cached_statistics,
    cached_vote_quality,
    data_version,
)
from labeling.selectors.pool import pool_check, pool_members, stuck_jobs
from labeling.selectors.predictions import suspect_vote_ids, with_predictions
from labeling.selectors.qualification import qualification_overview
from labeling.selectors.screening import status_table
from labeling.selectors.statistics import (
    annotator_quality,
    campaign_statistics,
    disagreement_queue,
)
from labeling.selectors.votes import TABLES, raw_rows
from labeling.services import review
from labeling.services.assignment import AnnotationError


def reviewer_required(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_reviewer(request.user):
            raise PermissionDenied("Only reviewers and admins see this.")
        return view(request, *args, **kwargs)

    return guarded


@reviewer_required
def dashboard(request, campaign_id: int):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    version = data_version(campaign)
    stats = cached_statistics(campaign, version)
    members = pool_members(campaign)
    return render(
        request,
        "review/dashboard.html",
        {
            "campaign": campaign,
            "stats": stats,
            "figures": figures_of(stats),
            "matrix_rows": _matrix_rows(
                stats["inconsistency"]["differ" if campaign.is_multi_label else "matrix"]
            ),
            "multilabel": _multilabel_tables(stats) if campaign.is_multi_label else None,
            "annotators": annotator_quality(campaign, cached_vote_quality(campaign, version)),
            "screening": status_table(campaign),
            "pool": pool_check(campaign, members),
            "stuck": stuck_jobs(campaign, members),
        },
    )


def _matrix_rows(matrix: dict) -> list[tuple[str, list]]:
    return [(row, list(values.values())) for row, values in matrix.items()]


def _multilabel_tables(stats: dict) -> dict:
    """A multi-label campaign's tables as rows the template loops over."""
    classes = stats["campaign"]["classes"]
    frequencies, sizes = stats["label_frequencies"], stats["label_set_sizes"]
    per_emotion = stats["per_emotion_inconsistency"]
    kappa, alpha = stats["fleiss_kappa_per_emotion"], stats["krippendorff_alpha_per_emotion"]
    return {
        "modalities": list(frequencies),
        "frequencies": [(label, [frequencies[m][label] for m in frequencies]) for label in classes]
        + [("none of these", [sizes[m]["0"] for m in frequencies])],
        "undecided": [
            (label, [stats["undecided_emotions"].get(m, {}).get(label, 0) for m in frequencies])
            for label in classes
        ],
        "jaccard_rows": _matrix_rows(stats["inconsistency"]["jaccard"]),
        "against": list(per_emotion["values"]),
        "per_emotion": [
            (
                label,
                [
                    (per_emotion["values"][u][label], per_emotion["support"][u][label])
                    for u in per_emotion["values"]
                ],
            )
            for label in classes
        ],
        "alpha_masi": [(m, value, n) for m, (value, n) in stats["krippendorff_alpha_masi"].items()],
        "per_emotion_agreement": [
            (m, label, *kappa[m][label], *alpha[m][label]) for m in kappa for label in classes
        ],
    }


@reviewer_required
def qualification(request, campaign_id: int):
    """Exam attempts, scores and gold-check accuracy of every annotator, per modality."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    return render(
        request,
        "review/qualification.html",
        {"campaign": campaign, "rows": qualification_overview(campaign)},
    )


@reviewer_required
def statistics_json(request, campaign_id: int):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    response = JsonResponse(campaign_statistics(campaign), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = (
        f'attachment; filename="campaign-{campaign.pk}-statistics.json"'
    )
    return response


@reviewer_required
def statistics_csv(request, campaign_id: int):
    """Every number of the dashboard as long-format rows: figure, row, column, value."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["figure", "row", "column", "value"])
    for figure, row, column, value in flatten_statistics(campaign_statistics(campaign)):
        writer.writerow([figure, row, column, value])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="campaign-{campaign.pk}-statistics.csv"'
    )
    return response


@reviewer_required
def raw_table(request, campaign_id: int, table: str, fmt: str):
    """Every vote, or every job's verdict, as CSV or JSONL (streamed: campaigns are large)."""
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if table not in TABLES or fmt not in FORMATS:
        raise Http404("Download votes or verdicts, as csv or jsonl.")
    response = StreamingHttpResponse(
        table_lines(TABLES[table], raw_rows(campaign, table), fmt), content_type=FORMATS[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-{table}.{fmt}"'
    return response


@reviewer_required
def figure_svg(request, campaign_id: int, name: str):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    if name not in (*FIGURES, *MULTILABEL_FIGURES):
        raise PermissionDenied("No such figure.")
    stats = cached_statistics(campaign)
    if name not in figures_of(stats):
        raise Http404("This campaign has no such figure (it is single- or multi-label).")
    return HttpResponse(cached_figure_svg(campaign, name, stats), content_type="image/svg+xml")


@reviewer_required
def queue(request, campaign_id: int):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    filters = {
        "modality": request.GET.get("modality", ""),
        "emotion": request.GET.get("emotion", ""),
        "annotator": int(request.GET["annotator"])
        if request.GET.get("annotator", "").isdigit()
        else None,
    }
    tau = _confidence(request.GET.get("tau"), campaign.suspect_confidence)
    filters["model"] = request.GET.get("model") == "disagrees"
    jobs = disagreement_queue(
        campaign,
        modality=filters["modality"],
        emotion=filters["emotion"],
        annotator=filters["annotator"],
        model_disagrees_at=tau if filters["model"] else None,
    )
    page = Paginator(jobs, 50).get_page(request.GET.get("page"))
    page.object_list = with_predictions(campaign, page.object_list, tau)
    filters["tau"] = tau
    return render(
        request,
        "review/queue.html",
        {
            "campaign": campaign,
            "page": page,
            "filters": filters,
            "annotators": campaign.annotators.order_by("username"),
        },
    )


def _confidence(value: str | None, default: float) -> float:
    """τ from the queue's form: a number in [0, 1], else the campaign's default."""
    try:
        tau = float(value)
    except (TypeError, ValueError):
        return default
    return min(max(tau, 0.0), 1.0) if tau == tau else default


@reviewer_required
def job_detail(request, job_id: int):
    job = get_object_or_404(Job.objects.select_related("campaign", "utterance"), pk=job_id)
    rendition = job.utterance.renditions.filter(modality=job.modality, status="done").first()
    (job,) = with_predictions(job.campaign, [job])
    votes = list(job.votes.select_related("annotator").order_by("created_at", "pk"))
    suspects = suspect_vote_ids(job, votes)
    for vote in votes:
        vote.suspect = vote.pk in suspects
    return render(
        request,
        "review/job.html",
        {
            "job": job,
            "rendition": rendition,
            "votes": votes,
            "imported_votes": job.imported_votes.order_by("pk"),
            "actions": job.review_actions.select_related("actor"),
            "can_reopen": not review.reopen_refusal(job),
        },
    )


@require_POST
@reviewer_required
def job_action(request, job_id: int):
    job = get_object_or_404(Job.objects.select_related("campaign"), pk=job_id)
    action, reason = request.POST.get("action"), request.POST.get("reason", "")
    try:
        if action == "reopen":
            review.reopen_job(request.user, job.pk, reason)
        elif action == "set_label" and job.campaign.is_multi_label:
            review.set_label_set(request.user, job.pk, request.POST.getlist("labels"), reason)
        elif action == "set_label":
            review.set_label(request.user, job.pk, request.POST.get("label", ""), reason)
        elif action == "exclude":
            review.exclude_utterance(request.user, job.campaign, job.utterance_id, reason)
        else:
            raise review.ReviewRefused("Unknown action.")
    except AnnotationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Done; the action is in the job's log.")
    return redirect("review-job", job.pk)


@require_POST
@reviewer_required
def annotator_action(request, campaign_id: int, annotator_id: int):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    get_object_or_404(campaign.annotators.all(), pk=annotator_id)  # only this pool's members
    reason = request.POST.get("reason", "")
    try:
        if request.POST.get("action") == "pause":
            review.pause_annotator(request.user, campaign, annotator_id, reason)
        else:
            review.resume_annotator(request.user, campaign, annotator_id, reason)
    except AnnotationError as error:
        messages.error(request, str(error))
    return redirect("review-dashboard", campaign.pk)
