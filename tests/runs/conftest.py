"""The dataset tests' tiny export (real writer, tiny save_pretrained extractors), shared."""

import pytest

from tests.dataset.conftest import (  # noqa: F401 - fixtures
    _single_torch_thread,
    clip_paths,
    exported,
    model_dirs,
    records,
    session_extractors,
)


@pytest.fixture(autouse=True)
def runs_root(settings, tmp_path):
    """Checkpoints of this test's runs go to its own folder, never to var/runs."""
    settings.TRAINING_RUNS_ROOT = tmp_path / "runs"
    return settings.TRAINING_RUNS_ROOT
