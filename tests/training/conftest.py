"""Model tests use tiny tensors: one intra-op thread is faster than two fighting other jobs."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def _single_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """Overrides the root conftest's autouse Django fixture: model tests run without Django
    (`-p no:django`), so there are no settings and no passwords to hash."""
