"""Checks that a campaign's stored votes and verdicts obey the rules (see assignment.md).

Used by the concurrency tests, the assignment benchmark, and by admins who want to know.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace

from labeling.models import Campaign, Job, Lease, Vote
from labeling.multilabel_verdicts import in_label_order, multilabel_verdict
from labeling.verdicts import verdict


def _rule_of(campaign: Campaign):
    """The campaign's verdict as a function of (votes, rule) -> (state, stored answer, is_final):
    the single-label rule, or per emotion on a multi-label campaign (answer: the label set)."""
    if not campaign.is_multi_label:

        def single(votes, rule):
            result = verdict(votes, rule)
            return result.state.value, result.label or "", result.is_final

        return single
    names = campaign.label_names

    def multi(votes, rule):
        result = multilabel_verdict(
            [frozenset(v) for v in votes], names, rule, campaign.undecided_policy
        )
        decided = result.state.value == "decided"
        answer = in_label_order(result.present, names) if decided else None
        return result.state.value, answer, result.is_final

    return multi


def campaign_integrity(campaign: Campaign) -> dict[str, int]:
    """Counts of rule breaches (all should be 0) plus how many jobs are still unfinished."""
    judge = _rule_of(campaign)
    answer = "label_set" if campaign.is_multi_label else "label"
    votes_by_job: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for job_id, annotator_id, label in (
        Vote.objects.filter(job__campaign=campaign)
        .order_by("created_at", "pk")
        .values_list("job_id", "annotator_id", answer)
    ):
        votes_by_job[job_id].append((annotator_id, label))
    report = dict.fromkeys(
        (
            "over_voted_jobs",
            "votes_after_final",
            "double_votes",
            "wrong_verdicts",
            "guard_breaches",
            "unfinished_jobs",
        ),
        0,
    )
    for job_id, state, label, votes_count, extra in Job.objects.filter(
        campaign=campaign
    ).values_list("pk", "state", answer, "votes_count", "extra_votes"):
        rule = replace(campaign.rule, max_votes=campaign.max_votes + extra)
        votes = votes_by_job[job_id]
        labels = [label_cast for _, label_cast in votes]
        report["over_voted_jobs"] += len(votes) > rule.max_votes
        report["votes_after_final"] += any(
            judge(labels[:i], rule)[2] for i in range(1, len(labels))
        )
        report["double_votes"] += len({annotator for annotator, _ in votes}) != len(votes)
        result_state, result_answer, final = judge(labels[: rule.max_votes], rule)
        report["wrong_verdicts"] += (result_state, result_answer, len(votes)) != (
            state,
            label,
            votes_count,
        )
        report["unfinished_jobs"] += not final
    if campaign.independence_guard:
        seen = Counter(
            Lease.objects.filter(job__campaign=campaign).values_list(
                "annotator_id", "job__utterance_id"
            )
        )
        report["guard_breaches"] = sum(1 for count in seen.values() if count > 1)
    return report
