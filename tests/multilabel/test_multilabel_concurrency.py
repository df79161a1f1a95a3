"""Many annotators answering a multi-label campaign at once keep every invariant."""

import pytest

from tests.annotation.simulation import run
from tests.annotation.test_concurrency import assert_invariants


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("job_order", ["shuffled", "disagreement"])
def test_24_concurrent_annotators_on_a_multi_label_campaign_keep_every_invariant(job_order):
    # 16 is the guard's bare minimum (4 modalities × 4 votes): one simulated skip then leaves
    # a job nobody may finish. 24 leave room for the skips.
    report = run(n_annotators=24, n_utterances=6, seed=7, multi_label=True, job_order=job_order)
    assert_invariants(report)
    assert set(report["states"]) <= {"decided", "discarded"}
