"""How many SQL statements a next-task and a submit cost (pinned, issue 14), and the claim's
open-slot expression agreeing with the rule it is written from."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token

from labeling.services.assignment import next_task, submit_vote
from labeling.services.assignment_sql import open_slots_sql
from labeling.services.campaigns import create_campaign
from labeling.verdicts import State, VotingRule, open_slots
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


def statements(captured) -> list[str]:
    """The statements a request runs in production. Tests wrap each one in a transaction,
    so the service's atomic() becomes SAVEPOINT / RELEASE here; outside tests it is BEGIN /
    COMMIT, which Django does not log as queries either way. Both are left out."""
    return [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]


@pytest.fixture
def campaign():
    team = annotators(4)
    return create_campaign(name="q", corpus=rendered_corpus(6), annotators=team)


@pytest.mark.postgresql
def test_next_task_claims_in_three_statements(campaign):
    annotator = campaign.annotators.first()
    with CaptureQueriesContext(connection) as captured:
        lease = next_task(annotator, campaign)
    ran = statements(captured)
    assert lease is not None
    assert len(ran) == 3, ran  # lock, context, claim (pick + lease insert in one)
    assert ran[2].lstrip().upper().startswith(("WITH", "INSERT"))


@pytest.mark.postgresql
def test_handing_back_the_live_task_takes_three_statements(campaign):
    annotator = campaign.annotators.first()
    first = next_task(annotator, campaign)
    with CaptureQueriesContext(connection) as captured:
        assert next_task(annotator, campaign).pk == first.pk
    assert len(statements(captured)) == 3  # lock, context, the live lease


@pytest.mark.postgresql
def test_submit_statements(campaign):
    annotator = campaign.annotators.first()
    lease = next_task(annotator, campaign)
    with CaptureQueriesContext(connection) as captured:
        submit_vote(annotator, lease.pk, "anger")
    # the lease and its job (locked) with the campaign and membership; the vote cast with the
    # job's votes read back; the verdict with the lease closed; the job's vote counters
    # (delete, insert: services/tallies.py)
    ran = statements(captured)
    assert len(ran) == 5, ran
    assert "FOR UPDATE OF" in ran[0] and ran[1].lstrip().upper().startswith("WITH")


@pytest.mark.postgresql
def test_next_and_submit_over_the_api_statements(campaign):
    """What the API views run per request with token authentication (the benchmark's), auth
    included: token+user, the campaign, the service, the page's payload."""
    annotator = campaign.annotators.first()
    token = Token.objects.create(user=annotator)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(reverse("api-next-task", args=[campaign.pk]))
    assert response.status_code == 200
    # token+user, campaign, lock, context, claim, the payload (modality, transcript, rendition)
    assert len(statements(captured)) == 6, statements(captured)
    lease = response.json()["task"]["lease"]
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            reverse("api-submit", args=[lease]), {"label": "anger"}, content_type="application/json"
        )
    assert response.status_code == 201
    assert len(statements(captured)) == 6, statements(captured)  # token+user, submit's 5


@pytest.mark.parametrize("rule", [VotingRule(), VotingRule(2, 2, 3), VotingRule(1, 1, 1)])
def test_the_claims_open_slots_expression_is_the_rule(rule):
    rows = [(state, cast) for state in State for cast in range(rule.max_votes + 2)]
    values = " UNION ALL ".join(f"SELECT '{s.value}' AS state, {c} AS votes_count" for s, c in rows)
    sql = f"SELECT j.state, j.votes_count, {open_slots_sql()} FROM ({values}) AS j"
    with connection.cursor() as cursor:
        cursor.execute(sql, {"initial": rule.initial_votes})
        computed = {(state, cast): slots for state, cast, slots in cursor.fetchall()}
    assert computed == {(s.value, c): open_slots(s, c, rule) for s, c in rows}
