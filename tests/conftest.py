from pathlib import Path

import pytest

from tests.clips import write_clip


def pytest_collection_modifyitems(config, items):
    """`postgresql` tests are skipped on another database, so `pytest` alone runs the rest
    on the SQLite default (`make test` runs everything on PostgreSQL)."""
    if not config.pluginmanager.hasplugin("django"):
        return
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: make test, or DATABASE_URL=postgres://…")
    for item in items:
        if "postgresql" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    """MEDIA_ROOT for this test only, so stored sources and renditions never leak between tests."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def clip_dir(tmp_path) -> Path:
    """A user's folder of clips: the --media-root of an import."""
    folder = tmp_path / "clips"
    folder.mkdir()
    return folder


@pytest.fixture
def make_clip(clip_dir):
    def make(name: str, **options) -> Path:
        return write_clip(clip_dir / name, **options)

    return make


@pytest.fixture(autouse=True)
def fast_password_hashing(request):
    """Tests create many users; real password hashing would dominate their run time.

    Skipped when pytest runs without pytest-django (`-p no:django`, for training/ alone).
    """
    if request.config.pluginmanager.hasplugin("django"):
        settings = request.getfixturevalue("settings")
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def demo_feature_models_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("feature-models")


@pytest.fixture(autouse=True)
def feature_models_dir(request):
    """make_demo's random feature models go to one folder per test session, never var/."""
    if request.config.pluginmanager.hasplugin("django"):
        settings = request.getfixturevalue("settings")
        settings.FEATURE_MODELS_DIR = request.getfixturevalue("demo_feature_models_dir")


@pytest.fixture(autouse=True)
def export_root_dir(request, tmp_path_factory):
    """Exports and prediction pools go to a folder per test, never var/: a pool another test
    (or an earlier run) left for the same dataset name and campaign id would be reused."""
    if request.config.pluginmanager.hasplugin("django"):
        settings = request.getfixturevalue("settings")
        settings.EXPORT_ROOT = str(tmp_path_factory.mktemp("exports"))


@pytest.fixture(scope="session", autouse=True)
def celery_tasks_registered(request):
    """Register every task once, before any test starts a worker thread.

    Workers started by tests finalize the app lazily; doing it up front keeps them from
    iterating the task registry while another thread is still filling it.
    """
    if request.config.pluginmanager.hasplugin("django"):
        from annotator.celery import app

        app.loader.import_default_modules()
        app.finalize(auto=True)


@pytest.fixture
def back_to_the_latest_schema():
    """A test that migrates back leaves the database at the newest migrations for the next."""
    yield
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
