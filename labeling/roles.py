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
