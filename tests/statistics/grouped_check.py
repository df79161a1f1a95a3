"""The dashboard's statistics, grouped in the database, against a recount from every job and
every vote with the libraries (`python -m tests.statistics.grouped_check` prints the
mismatches as JSON, for the SQLite test).

The recount is what the dashboard computed before it grouped: one row per utterance of
final labels (`decided_labels`) for the label figures, and each job's votes in casting
order for statsmodels' Fleiss' κ (first three) and the `krippendorff` package's α (all).
"""

from __future__ import annotations

import json
import math


def recounted(campaign, utterances=None) -> dict:
    import krippendorff
    import numpy as np
    from statsmodels.stats.inter_rater import fleiss_kappa

    from labeling import statistics
    from labeling.models import Vote
    from labeling.selectors.statistics import decided_labels, final_labels

    classes = campaign.label_names
    labels = decided_labels(campaign, final_labels(campaign, utterances))
    votes: dict[int, tuple[str, list[str]]] = {}
    for job, modality, label in (
        Vote.objects.filter(job__campaign=campaign, job__excluded=False)
        .filter(**({} if utterances is None else {"job__utterance_id__in": list(utterances)}))
        .order_by("pk")
        .values_list("job_id", "job__modality", "label")
    ):
        votes.setdefault(job, (modality, []))[1].append(label)
    kappa, alpha = {}, {}
    for modality in statistics.MODALITIES:
        mine = [labels for m, labels in votes.values() if m == modality]
        full = np.array([[v[:3].count(c) for c in classes] for v in mine if len(v) >= 3])
        one_label = len(full) and np.count_nonzero(full.sum(axis=0)) == 1
        kappa[modality] = [
            None if not len(full) or one_label else float(fleiss_kappa(full)),
            len(full),
        ]
        counts = np.array([[v.count(c) for c in classes] for v in mine if len(v) >= 2])
        usable = len(counts) and np.count_nonzero(counts.sum(axis=0)) >= 2
        value = usable and krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
        alpha[modality] = [float(value) if usable else None, len(counts)]
    incon = statistics.inconsistency_matrix(labels)
    return statistics.to_jsonable(
        {
            "label_distribution": statistics.label_distribution(labels, classes),
            "inconsistency": {"matrix": incon.matrix, "pairs": incon.pairs},
            "per_emotion_inconsistency": statistics.per_emotion_inconsistency(labels, classes),
            "usable_utterances": int(labels[list(campaign.modalities)].notna().all(axis=1).sum()),
            "fleiss_kappa": kappa,
            "krippendorff_alpha": alpha,
        }
    )


def _same(shown, expected) -> bool:
    if isinstance(shown, float) and isinstance(expected, float):
        return math.isclose(shown, expected, rel_tol=1e-12)
    if isinstance(shown, dict) and isinstance(expected, dict):
        return shown.keys() == expected.keys() and all(_same(shown[k], expected[k]) for k in shown)
    if isinstance(shown, list) and isinstance(expected, list):
        return len(shown) == len(expected) and all(map(_same, shown, expected))
    return shown == expected and type(shown) is type(expected)


def mismatches(campaign, utterances=None) -> list:
    """[figure, shown, recounted] wherever `campaign_statistics` differs from the recount."""
    from labeling.selectors.statistics import campaign_statistics

    stats = campaign_statistics(campaign, utterances)
    shown = {key: stats[key] for key in recounted(campaign, utterances) if key in stats}
    shown["usable_utterances"] = stats["progress"]["usable_utterances"]
    expected = recounted(campaign, utterances)
    return [
        [key, shown[key], expected[key]] for key in expected if not _same(shown[key], expected[key])
    ]


def build():
    """quality_check's campaign: t and m voted by five annotators, 2:1 splits with a fourth
    vote, a 2:2 discarded, a reviewer's label, an excluded utterance."""
    from tests.statistics.quality_check import SINGLE
    from tests.statistics.quality_check import build as build_quality

    return build_quality(SINGLE, name="grouped statistics")


def report() -> dict:
    campaign = build()
    first_two = list(campaign.corpus.utterances.order_by("pk").values_list("pk", flat=True)[:2])
    stats = recounted(campaign)
    return {
        "kappa_jobs": sum(n for _, n in stats["fleiss_kappa"].values()),
        "pairs": stats["inconsistency"]["pairs"]["t"]["m"],
        "mismatches": mismatches(campaign),
        "mismatches_of_two": mismatches(campaign, first_two),
    }


def main() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(report()))


if __name__ == "__main__":
    main()
