"""A multi-label campaign's statistics from the votes annotators cast (the selectors, the
dashboard, cherma_stats and the CSV), with hand-computed numbers."""

import csv
import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from labeling.models import Campaign
from labeling.selectors.exports import export_readiness
from labeling.selectors.multilabel_statistics import final_label_sets, vote_sets
from labeling.selectors.statistics import (
    annotator_quality,
    campaign_statistics,
    disagreement_queue,
    progress,
)
from labeling.selectors.votes import raw_rows
from labeling.services import review
from labeling.services.assignment import next_task, submit_vote
from labeling.services.campaigns import create_campaign
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db

LABELS = [{"name": "happy", "key": "1"}, {"name": "sad", "key": "2"}, {"name": "anger", "key": "3"}]
H, S, A = "happy", "sad", "anger"

# (utterance index, modality): the label sets annotators 1..3 choose.
SCRIPT = {
    (0, "t"): [[H], [H], [H]],  # {happy}
    (0, "m"): [[H, S], [H, S], [S, H]],  # {happy, sad}
    (1, "t"): [[], [], []],  # none of these
    (1, "m"): [[S], [S], [S]],  # {sad}
    (2, "t"): [[A], [A], [H]],  # anger and happy 2:1: waits for a fourth vote
    (2, "m"): [[A], [A], [A]],  # {anger}
}


def multilabel_campaign(name: str, n_utterances: int, team, **options) -> Campaign:
    return create_campaign(
        name=name,
        corpus=rendered_corpus(n_utterances),
        annotators=team,
        labels=LABELS,
        modalities="tm",
        label_mode=Campaign.LabelMode.MULTI,
        allow_none=True,
        independence_guard=False,
        **options,
    )


def vote_all(campaign, team, script) -> None:
    utterances = list(campaign.corpus.utterances.order_by("pk"))
    for annotator in team:
        while (lease := next_task(annotator, campaign)) is not None:
            index = utterances.index(lease.job.utterance)
            submit_vote(
                annotator, lease.pk, script[(index, lease.job.modality)][team.index(annotator)]
            )


@pytest.fixture
def voted():
    team = annotators(3)
    campaign = multilabel_campaign("ml", 3, team)
    vote_all(campaign, team, SCRIPT)
    return campaign


def test_final_label_sets_and_votes_are_read_as_frozensets(voted):
    jobs = final_label_sets(voted)
    finals = {(row.modality, row.final) for row in jobs.itertuples()}
    assert ("t", frozenset({H})) in finals and ("t", frozenset()) in finals
    assert ("t", None) in finals  # utterance 2 waits for a fourth vote
    votes = vote_sets(voted)
    assert sorted(len(v) for v in votes.values()) == [3] * 6
    assert frozenset({H, S}) in next(v for (_, m), v in votes.items() if m == "m")


def test_multilabel_campaign_statistics_by_hand(voted):
    stats = campaign_statistics(voted)
    assert stats["campaign"]["label_mode"] == "multi-label"
    assert stats["label_frequencies"]["t"] == {H: 1, S: 0, A: 0}
    assert stats["label_frequencies"]["m"] == {H: 1, S: 2, A: 1}
    assert stats["label_set_sizes"]["t"] == {"0": 1, "1": 1, "2": 0, "3": 0}
    assert stats["co_occurrence"]["m"][H][S] == 1
    # t vs m over utterances 0, 1: {H}/{H,S} differ (Jaccard 1/2), ∅/{S} differ (1).
    assert stats["inconsistency"]["differ"]["t"]["m"] == 1.0
    assert stats["inconsistency"]["jaccard"]["t"]["m"] == 0.75
    assert stats["inconsistency"]["pairs"]["t"]["m"] == 2
    # m says happy in u0 (t has it): 0/1; sad in u0, u1 (t has neither): 2/2; anger only in
    # u2, not decided in t: no support.
    per_emotion = stats["per_emotion_inconsistency"]
    assert per_emotion["values"]["t"] == {H: 0.0, S: 1.0, A: None}
    assert per_emotion["support"]["t"] == {H: 1, S: 2, A: 0}
    # α (MASI) over t's votes: {H} 4, ∅ 3, {A} 2 (n = 9), every distance 1; only u2 disagrees:
    # Do = 2·2·1/2 / 9 = 2/9; De = 2·(4·3 + 4·2 + 3·2)/72 = 13/18; α = 1 - 4/13 = 9/13.
    alpha, n_jobs = stats["krippendorff_alpha_masi"]["t"]
    assert alpha == pytest.approx(9 / 13) and n_jobs == 3
    # κ of happy in t: present 3, 0, 1 of 3 -> P̄ = 7/9, p = 4/9, Pe = 41/81; κ = 22/40.
    kappa, n_jobs = stats["fleiss_kappa_per_emotion"]["t"][H]
    assert kappa == pytest.approx(0.55) and n_jobs == 3
    assert stats["progress"]["jobs"]["t"]["needs_vote"] == 1
    assert stats["progress"]["usable_utterances"] == 2
    json.dumps(stats, allow_nan=False)


def test_statistics_take_a_fixed_number_of_queries_whatever_the_campaign_size(
    django_assert_max_num_queries,
):
    team = annotators(3)
    small, large = multilabel_campaign("small", 2, team), multilabel_campaign("large", 9, team)
    script = {(i, m): [[H, S], [S, H], [H, S]] for i in range(9) for m in "tm"}
    vote_all(small, team, script)
    vote_all(large, team, script)
    with django_assert_max_num_queries(8):  # 7, and the statistics' work_mem (PostgreSQL)
        campaign_statistics(small)
    with django_assert_max_num_queries(8):
        stats = campaign_statistics(large)
    assert stats["label_frequencies"]["t"][H] == 9


def test_an_emotion_left_undecided_is_counted_and_keeps_the_utterance_out_of_the_export():
    team = annotators(4)
    campaign = multilabel_campaign("mark", 1, team, undecided_policy="mark")
    # happy 2:1 brings a fourth vote, which makes it 2:2: undecided; sad and anger absent.
    vote_all(campaign, team, {(0, "t"): [[H], [H], [], []], (0, "m"): [[S], [S], [S], [S]]})
    stats = campaign_statistics(campaign)
    assert stats["undecided_emotions"]["t"] == {H: 1, S: 0, A: 0}
    assert stats["inconsistency"]["pairs"]["t"]["m"] == 0  # t's set is not known
    assert stats["per_emotion_inconsistency"]["support"]["t"][S] == 1  # sad is decided in t
    assert stats["progress"]["usable_utterances"] == 0
    assert progress(campaign)["usable_utterances"] == 0  # as the simulation report reads it
    readiness = export_readiness(campaign)
    assert readiness.undecided == {"t": 1, "a": 0, "v": 0, "m": 0}
    assert "1 with an emotion undecided in t" in readiness.sentence()


def test_annotator_agreement_compares_vote_sets_with_the_final_set(voted):
    rows = {row["username"]: row for row in annotator_quality(voted)}
    # annotator 3 disagrees on u2's t only, which is not decided: judged on 5 jobs, all agree.
    assert rows["annotator3"]["judged"] == 5 and rows["annotator3"]["agreement"] == 1.0


def test_dashboard_cherma_stats_and_csv_show_the_multilabel_figures(voted, tmp_path):
    reviewer = User.objects.create_superuser("boss", password="x")
    client = Client()
    client.force_login(reviewer)
    page = client.get(reverse("review-dashboard", args=[voted.pk])).content.decode()
    for table in (
        "label-frequencies",
        "jaccard",
        "per-emotion-inconsistency",
        "agreement-per-emotion",
    ):
        assert f'id="{table}"' in page
    assert 'data-figure="co_occurrence"' in page and 'data-figure="label_distribution"' not in page
    svg = client.get(reverse("review-figure", args=[voted.pk, "co_occurrence"]))
    assert svg.status_code == 200 and b"<svg" in svg.content
    assert (
        client.get(reverse("review-figure", args=[voted.pk, "label_distribution"])).status_code
        == 404
    )
    rows = list(
        csv.reader(
            io.StringIO(client.get(reverse("review-stats-csv", args=[voted.pk])).content.decode())
        )
    )
    assert ["inconsistency_jaccard", "t", "m", "0.75"] in rows
    out = io.StringIO()
    call_command("cherma_stats", "--campaign", voted.name, "--out", str(tmp_path), stdout=out)
    text = out.getvalue()
    assert "mean Jaccard distance" in text and "MASI" in text and "Table 1" in text
    saved = json.loads((tmp_path / "statistics.json").read_text())
    assert saved["inconsistency"]["jaccard"]["t"]["m"] == 0.75
    for name in (
        "label_frequencies",
        "co_occurrence",
        "inconsistency",
        "per_emotion_inconsistency",
        "agreement",
    ):
        assert (tmp_path / f"{name}.png").read_bytes().startswith(b"\x89PNG")


def test_readiness_of_a_multilabel_campaign_counts_complete_label_sets(voted):
    readiness = export_readiness(voted)
    assert readiness.total == 3 and readiness.still_open["t"] == 1


def test_raw_votes_and_verdicts_of_a_multilabel_campaign_join_the_sets_in_label_order(voted):
    votes = list(raw_rows(voted, "votes"))
    assert {row["label"] for row in votes} == {"happy", "happy;sad", "", "sad", "anger"}
    verdicts = {
        (row["modality"], row["verdict"], row["final_label"]) for row in raw_rows(voted, "verdicts")
    }
    assert ("m", "decided", "happy;sad") in verdicts and ("t", "decided", "") in verdicts
    assert ("t", "needs_vote", None) in verdicts


def test_a_reviewers_set_is_the_final_set_and_is_counted_as_the_reviewers(voted):
    job = voted.jobs.get(modality="t", state="needs_vote")  # utterance 2: anger and happy 2:1
    review.set_label_set(User.objects.create_user("rev"), job.pk, [A], "anger is in the words")
    stats = campaign_statistics(voted)
    assert stats["label_sources"]["t"] == {"voted": 2, "imported": 0, "reviewer": 1}
    # u2 now counts: m says anger, t has it -> 0/1; t vs m: u2's sets are equal.
    assert stats["per_emotion_inconsistency"]["support"]["t"][A] == 1
    assert stats["per_emotion_inconsistency"]["values"]["t"][A] == 0.0
    assert stats["inconsistency"]["pairs"]["t"]["m"] == 3
    assert stats["inconsistency"]["differ"]["t"]["m"] == pytest.approx(2 / 3)


def test_the_disagreement_queue_finds_a_split_emotion_among_the_vote_sets(voted):
    assert [job.modality for job in disagreement_queue(voted, emotion=A)] == ["t"]
    assert list(disagreement_queue(voted, emotion=S)) == []
