from django.db.models import Count, Q

from labeling.models import Corpus


def corpus_overview() -> list[dict]:
    """Per corpus: utterances and rendition status counts, in one query."""
    rows = Corpus.objects.annotate(
        utterances_count=Count("utterances", distinct=True),
        **{
            f"renditions_{status}": Count(
                "utterances__renditions", filter=Q(utterances__renditions__status=status)
            )
            for status in ("pending", "running", "done", "failed")
        },
    ).order_by("name")
    return [
        {
            "corpus": corpus,
            "utterances": corpus.utterances_count,
            "renditions": {
                s: getattr(corpus, f"renditions_{s}")
                for s in ("pending", "running", "done", "failed")
            },
        }
        for corpus in rows
    ]
