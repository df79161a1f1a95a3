"""Tests of data migrations: go back to a migration and forward again."""


def remigrate(before: str, after: str) -> None:
    """Migrate labeling back to `before` (dropping what came later), then forward to `after`
    alone."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    MigrationExecutor(connection).migrate([("labeling", before)])
    MigrationExecutor(connection).migrate([("labeling", after)])
