"""The dataset tests' tiny export (real writer, tiny save_pretrained extractors), shared."""

import pytest

from labeling.models import ExportJob
from labeling.services.exports import create_export, run_export
from tests.dataset.conftest import (  # noqa: F401 - fixtures
    _single_torch_thread,
    clip_paths,
    exported,
    model_dirs,
    records,
    session_extractors,
)
from tests.export.conftest import built, clips, tiny_options  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def runs_root(settings, tmp_path):
    """Checkpoints of this test's runs go to its own folder, never to var/runs."""
    settings.TRAINING_RUNS_ROOT = tmp_path / "runs"
    return settings.TRAINING_RUNS_ROOT


@pytest.fixture
def finished_export(built, tiny_options, tmp_path) -> ExportJob:  # noqa: F811 - fixtures
    """A campaign built through the services, exported with the tiny models: a done export
    the run form offers."""
    job = create_export(
        campaign=built.campaign, out_dir=tmp_path / "export", options=tiny_options, enqueue=False
    )
    job = run_export(job.pk)
    assert job.status == ExportJob.Status.DONE, job.error
    return job
