"""Independence: no annotator page, API response or media request ever carries a model
prediction, and the pages that do show predictions refuse annotators.

The campaign's assistant run has predictions for every utterance and head with distinctive
numbers; an annotator walks every URL they can reach (annotate, qualification, training,
exam and screening pages, the whole task API, every rendition they are shown, the schema)
and no response may contain those numbers, the run's id, or a prediction's keys. A URL added
to annotator/urls.py later fails the coverage check until it is walked here or listed as
reviewer-only, so a new endpoint cannot skip this test.
"""

import json
import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse

from annotator.urls import urlpatterns
from labeling.models import Exam, Modality, Prediction, Rendition, TrainingRun, Utterance
from labeling.roles import REVIEWER
from labeling.services.campaigns import create_campaign
from labeling.services.qualification import add_gold_item
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db

RUN_ID = 97531  # distinctive: no other number on these pages has these digits
PROBABILITIES = [0.3141592, 0.2718281, 0.1414213, 0.1732050, 0.0993864]  # one per class
CONFIDENCE, ENTROPY = 0.9182736, 1.6180339
# Six digits of each: shorter fragments turn up as ordinary ids (a rendition 1732 matched
# 0.1732050) or timestamps' microseconds.
DISTINCTIVE = [
    str(RUN_ID),
    *(f"{p:.7f}"[2:8] for p in PROBABILITIES),  # 314159, 271828, ... in any rendering
    "918273",
    "618033",
]
KEYS = ["prediction", "confidence", "probabilit", "entropy", "assistant", "model_label"]

# Pages and APIs for reviewers and admins only: annotators must be refused.
REVIEWER_ONLY = {
    "review-dashboard",
    "review-stats-json",
    "review-stats-csv",
    "review-figure",
    "review-raw",
    "review-queue",
    "review-qualification",
    "review-annotator",
    "review-job",
    "review-job-action",
    "runs",
    "runs-compare",
    "runs-compare-curves",
    "run-detail",
    "run-status",
    "run-curves",
    "run-cancel",
    "run-predict",
    "run-continue",
    "api-pool",
    "admin",
}
NOT_CHECKED = {"login", "logout"}  # before and after the session


def url_names(patterns=urlpatterns) -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names.add(pattern.app_name or str(pattern.pattern).strip("/"))
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
    return names


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


class Walk:
    """An annotator's client that records every response and the URL names it reached."""

    def __init__(self, user):
        self.client = Client()
        self.client.force_login(user)
        self.visited: set[str] = set()
        self.responses: list[tuple[str, int, str]] = []

    def go(self, method: str, name: str, args=(), data=None, url: str | None = None):
        url = url or reverse(name, args=args)
        if method == "post":
            response = self.client.post(
                url, json.dumps(data or {}), content_type="application/json"
            )
        else:
            response = self.client.get(url, data or {})
        self.visited.add(name)
        self.responses.append((url, response.status_code, body(response)))
        return response

    def media(self, task: dict | None, clip: dict | None = None) -> None:
        for key in ("media_url", "subtitles_url"):
            url = (task or clip or {}).get(key)
            if url:
                name = "rendition-subtitles" if key == "subtitles_url" else "rendition-file"
                response = self.go("get", name, url=url)
                assert response.status_code == 200, url


@pytest.fixture
def world(media_root):
    team = annotators(3)
    # Enough utterances that, with tasks fetched ahead and given back, the walk still meets
    # every modality (the guard spends one utterance per task shown or fetched).
    corpus = rendered_corpus(16)
    campaign = create_campaign(name="assisted", corpus=corpus, annotators=team)
    utterances = list(Utterance.objects.filter(corpus=corpus).order_by("pk"))
    for utterance, purpose in zip(utterances[:3], ["training", "exam", "check"], strict=True):
        add_gold_item(
            campaign, utterance=utterance, modality="t", purpose=purpose, label="anger",
            explanation="Raised voice and an insult.",
        )  # fmt: skip
    Exam.objects.create(
        campaign=campaign, modality="t", questions=0, pass_mark=0.5, max_attempts=2,
        cooldown_minutes=30,
    )  # fmt: skip
    run = TrainingRun.objects.create(
        pk=RUN_ID, model="lfmim", preset="tiny", config={}, dataset_path="x"
    )
    campaign.assistant_run = run
    campaign.save(update_fields=["assistant_run"])
    labels = campaign.label_names
    Prediction.objects.bulk_create(
        Prediction(
            run=run, utterance=u, head=head, probabilities=PROBABILITIES[: len(labels)],
            label=labels[0], confidence=CONFIDENCE, entropy=ENTROPY,
        )
        for u in utterances
        for head in Modality.values
    )  # fmt: skip
    screened = create_campaign(
        name="screened", corpus=rendered_corpus(2), annotators=team[1:], human_screening=True,
        screeners=[team[0]],
    )  # fmt: skip
    screened.assistant_run = run
    screened.save(update_fields=["assistant_run"])
    for rendition in Rendition.objects.all():
        path = media_root / str(rendition.file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x00media bytes of " + rendition.modality.encode())
    return {"team": team, "campaign": campaign, "screened": screened, "run": run}


def walk_as_annotator(world) -> Walk:
    campaign, screened = world["campaign"], world["screened"]
    c, s = campaign.pk, screened.pk
    walk = Walk(world["team"][0])
    for name, args in [
        ("home", ()),
        ("annotate", (c,)),
        ("qualification", (c,)),
        ("training", (c, "t")),
        ("screen", (s,)),
        ("api-campaigns", ()),
        ("api-progress", (c,)),
        ("api-qualification", (c,)),
        ("api-schema", ()),
        ("api-docs", ()),
    ]:
        assert walk.go("get", name, args).status_code == 200, name
    task = walk.go("post", "api-training-next", (c, "t")).json()["task"]
    walk.media(task)
    walk.go("post", "api-submit", (task["lease"],), {"label": "anger"})
    exam_page = walk.go("post", "exam-start", (c, "t"))
    attempt = int(re.search(r"/annotate/exams/(\d+)/", exam_page["Location"]).group(1))
    walk.go("get", "exam", (attempt,))
    walk.go("post", "api-exam-start", (c, "t"))
    question = walk.go("post", "api-exam-next", (attempt,)).json().get("task")
    if question:
        walk.media(question)
        walk.go("post", "api-submit", (question["lease"],), {"label": "anger"})
    skipped = False
    for _ in range(14):  # tasks in every modality the annotator may see, and their media
        task = walk.go("post", "api-next-task", (c,)).json()["task"]
        if task is None:
            break
        walk.media(task)
        # The task fetched ahead (prefetch) and its media, then given back unused.
        ahead_url = f"{reverse('api-next-task', args=(c,))}?ahead_of={task['lease']}"
        ahead = walk.go("post", "api-next-task", url=ahead_url).json()["task"]
        if ahead is not None:
            walk.media(ahead)
            walk.go("post", "api-release", (ahead["lease"],))
        if not skipped:
            walk.go("post", "api-skip", (task["lease"],), {"reason": "unclear"})
            skipped = True
            continue
        walk.go("post", "api-submit", (task["lease"],), {"label": "fear"})
        walk.go("post", "api-revise", (task["lease"],), {"label": "anger"})
        walk.go("get", "api-progress", (c,))
    walk.go("get", "annotate", (c,))
    clip = walk.go("post", "api-screening-next", (s,)).json()["clip"]
    walk.media(None, clip)
    walk.go("post", "api-screening-decide", (clip["screening"],), {"accept": True})
    walk.go("get", "api-screening-progress", (s,))
    return walk


def reviewer_only_urls(world) -> list[tuple[str, str, tuple]]:
    campaign, run = world["campaign"], world["run"]
    job, annotator = campaign.jobs.first(), world["team"][1]
    c = campaign.pk
    return [
        ("get", "review-dashboard", (c,)),
        ("get", "review-stats-json", (c,)),
        ("get", "review-stats-csv", (c,)),
        ("get", "review-figure", (c, "inconsistency")),
        ("get", "review-raw", (c, "votes", "csv")),
        ("get", "review-queue", (c,)),
        ("get", "review-qualification", (c,)),
        ("post", "review-annotator", (c, annotator.pk)),
        ("get", "review-job", (job.pk,)),
        ("post", "review-job-action", (job.pk,)),
        ("get", "runs", ()),
        ("get", "runs-compare", ()),
        ("get", "runs-compare-curves", ()),
        ("get", "run-detail", (run.pk,)),
        ("get", "run-status", (run.pk,)),
        ("get", "run-curves", (run.pk, "loss")),
        ("post", "run-cancel", (run.pk,)),
        ("post", "run-predict", (run.pk,)),
        ("post", "run-continue", (run.pk,)),
        ("get", "api-pool", (c,)),
    ]


def leaks(text: str, *, keys: bool = True) -> list[str]:
    lowered = text.lower()
    found = [value for value in DISTINCTIVE if value in text]
    return found + ([key for key in KEYS if key in lowered] if keys else [])


def test_every_annotator_url_is_walked_or_refused():
    assert url_names() - NOT_CHECKED == (WALKED | REVIEWER_ONLY), (
        "A URL was added or removed: walk it in walk_as_annotator (and WALKED) or list it "
        "in REVIEWER_ONLY, so that no annotator response can carry a prediction unchecked."
    )


WALKED = {
    "home",
    "annotate",
    "qualification",
    "training",
    "exam-start",
    "exam",
    "screen",
    "rendition-file",
    "rendition-subtitles",
    "api-campaigns",
    "api-next-task",
    "api-progress",
    "api-qualification",
    "api-training-next",
    "api-exam-start",
    "api-exam-next",
    "api-submit",
    "api-skip",
    "api-revise",
    "api-release",
    "api-screening-next",
    "api-screening-progress",
    "api-screening-decide",
    "api-schema",
    "api-docs",
}


def test_no_annotator_response_carries_a_prediction(world):
    walk = walk_as_annotator(world)
    assert walk.visited == WALKED
    media = {"rendition-file", "rendition-subtitles"}
    assert len([r for r in walk.responses if "/renditions/" in r[0]]) >= 4  # every modality
    for url, status, text in walk.responses:
        assert status < 500, (url, status)
        documentation = url.startswith(("/api/schema", "/api/docs"))  # names fields, no data
        assert not leaks(text, keys=not documentation), (url, leaks(text))
    assert media <= walk.visited


def test_the_walk_would_see_a_prediction_if_one_leaked(world, monkeypatch):
    """The check can fail: a prediction added to the task payload is caught."""
    from labeling import api

    original = api.task_payload

    def leaky(lease, *args, **kwargs):
        payload = original(lease, *args, **kwargs)
        prediction = Prediction.objects.filter(utterance=lease.utterance_modality[0]).first()
        return payload | {"hint": prediction.probabilities}

    monkeypatch.setattr(api, "task_payload", leaky)
    walk = walk_as_annotator(world)
    assert any(leaks(text) for url, _, text in walk.responses if "/next/" in url)


def test_pages_and_apis_with_predictions_refuse_annotators(world):
    walk = Walk(world["team"][0])
    for method, name, args in reviewer_only_urls(world):
        response = walk.go(method, name, args, {"action": "exclude", "reason": "x"})
        assert response.status_code == 403, name
    admin = walk.go("get", "admin", url="/admin/labeling/prediction/")
    assert admin.status_code == 302 and "/admin/login/" in admin["Location"]
    for url, _, text in walk.responses:
        assert not leaks(text), (url, leaks(text))
    assert walk.visited == REVIEWER_ONLY


def test_reviewers_do_see_the_prediction(world):
    reviewer = User.objects.create_user("rita", password="pw")
    reviewer.groups.add(Group.objects.get(name=REVIEWER))
    client = Client()
    client.force_login(reviewer)
    job = world["campaign"].jobs.first()
    page = client.get(reverse("review-job", args=[job.pk])).content.decode()
    assert "confidence 0.92" in page and f"run {RUN_ID}" in page
