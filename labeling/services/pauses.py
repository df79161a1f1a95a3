"""Pausing an annotator in a campaign, with its audit entry: by a reviewer or automatically."""

from __future__ import annotations

from labeling.models import AnnotatorPause, Campaign, ReviewAction


def record_pause(
    campaign: Campaign, annotator, *, actor, reason: str, kind: str, details: dict | None = None
) -> AnnotatorPause:
    """Pause the annotator unless already paused; the caller's transaction holds both writes.
    `actor` is None when the system pauses (low gold accuracy)."""
    pause, created = AnnotatorPause.objects.get_or_create(
        campaign=campaign, annotator=annotator, defaults={"reason": reason, "paused_by": actor}
    )
    if created:
        ReviewAction.objects.create(
            campaign=campaign,
            subject=annotator,
            kind=kind,
            actor=actor,
            before={"paused": False},
            after={"paused": True, **(details or {})},
            reason=reason,
        )
    return pause
