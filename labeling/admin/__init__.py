"""The Django admin, one module per domain; importing them registers the model admins."""

from labeling.admin import campaigns, corpora, jobs, qualification, screening  # noqa: F401
