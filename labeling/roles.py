"""The three roles, as Django groups (created by migration 0002)."""

ANNOTATOR = "annotator"
REVIEWER = "reviewer"
ADMIN = "admin"
ROLES = (ANNOTATOR, REVIEWER, ADMIN)


def is_reviewer(user) -> bool:
    """Reviewers and admins may see dashboards, every vote and every modality, and act on jobs."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return user.groups.filter(name__in=(REVIEWER, ADMIN)).exists()


def reviewable_campaigns(user):
    """The campaigns whose dashboards, exports and runs a user may see: every campaign for
    reviewers and admins, none for anyone else."""
    from labeling.models import Campaign  # roles is imported by models' neighbours

    campaigns = Campaign.objects.select_related("corpus")
    return campaigns.all() if is_reviewer(user) else campaigns.none()
