"""Simulated annotators: accounts that work a campaign for demos and dry runs through the
same services as people (training and exams, `next_task`, `submit_vote`), so leases, the
independence guard, gold checks and verdicts all apply. Design note: simulation.md beside
this file.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from labeling.emotions import MODALITIES, emotion_label_set
from labeling.models import Campaign, Job, Lease, Rendition, SimulationRun, SyntheticTruth
from labeling.pool import pool_need
from labeling.roles import ANNOTATOR
from labeling.selectors.qualification import qualified_modalities
from labeling.selectors.statistics import progress as campaign_progress
from labeling.services import long_jobs
from labeling.services.assignment import (
    AnnotationError,
    CampaignClosed,
    NotQualified,
    Paused,
    next_task,
    submit_vote,
)
from labeling.services.qualification import (
    ExamRefused,
    next_exam_question,
    next_training_question,
    start_exam,
)
from labeling.verdicts import State, open_slots

logger = logging.getLogger(__name__)

DEFAULT_ACCURACY = 0.85
SIMULATED_FIRST_NAME = "Simulated"  # with the sim-<campaign>- prefix: visible in the admin
PROGRESS_INTERVAL_SECONDS = 1.0  # how often a run on a worker writes progress to its row

Progress = Callable[[int, int], None]


class SimulationInvalid(ValueError):
    """A simulation that cannot run as asked; the message says what to change."""


# --- what to simulate ------------------------------------------------------------------------


def parse_accuracy(text: str | None) -> dict[str, float]:
    """Accuracy per modality from "t=0.8,a=0.7,v=0.6,m=0.9" (or one number for all);
    modalities not named keep DEFAULT_ACCURACY."""
    accuracy = dict.fromkeys(MODALITIES, DEFAULT_ACCURACY)
    text = (text or "").strip()
    if text and "=" not in text:
        return dict.fromkeys(MODALITIES, _probability(text, "every modality"))
    for part in filter(None, (p.strip() for p in text.split(","))):
        modality, sep, value = (s.strip() for s in part.partition("="))
        if not sep or modality not in MODALITIES:
            raise SimulationInvalid(
                f"{part!r} is not MODALITY=ACCURACY; write e.g. t=0.8,a=0.7,v=0.6,m=0.9 "
                "(modalities t, a, v, m; accuracies between 0 and 1)."
            )
        accuracy[modality] = _probability(value, modality)
    return accuracy


def _probability(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        raise SimulationInvalid(
            f"Accuracy {value!r} of {what} is not a number between 0 and 1; "
            "write e.g. t=0.8,a=0.7,v=0.6,m=0.9."
        )
    return number


def _annotators_the_rule_needs(campaign: Campaign) -> int:
    """Distinct annotators the rule can need (`pool_need`: with the guard |modalities| × max
    votes per utterance), plus one per modality for every extra vote a reviewer re-opened."""
    extra = campaign.jobs.aggregate(extra=Max("extra_votes"))["extra"] or 0
    need = pool_need(campaign.rule, campaign.modalities, campaign.independence_guard).to_finish
    return need + extra * (len(campaign.modalities) if campaign.independence_guard else 1)


def check_can_simulate(campaign: Campaign) -> None:
    if not campaign.is_active:
        raise SimulationInvalid(
            f"Campaign {campaign.name!r} is closed; make it active again to simulate on it."
        )


# --- accounts --------------------------------------------------------------------------------


def simulated_prefix(campaign: Campaign) -> str:
    return f"sim-{campaign.pk}-"


def simulated_annotators(campaign: Campaign) -> list:
    """The campaign's simulated accounts, in the order they were made."""
    users = get_user_model().objects.filter(
        username__startswith=simulated_prefix(campaign), first_name=SIMULATED_FIRST_NAME
    )
    return sorted(users, key=lambda user: _number(campaign, user.username))


def _number(campaign: Campaign, username: str) -> int:
    match = re.fullmatch(rf"{re.escape(simulated_prefix(campaign))}(\d+)", username)
    return int(match.group(1)) if match else 0


def add_simulated_annotators(campaign: Campaign, count: int) -> list:
    """At least `count` simulated accounts in the campaign's pool (made as needed: no usable
    password, in the annotator group); returns the first `count`, existing ones first."""
    User = get_user_model()
    with transaction.atomic():
        existing = simulated_annotators(campaign)
        first = max((_number(campaign, u.username) for u in existing), default=0) + 1
        new = []
        for number in range(first, first + max(0, count - len(existing))):
            user = User(
                username=f"{simulated_prefix(campaign)}{number:02d}",
                first_name=SIMULATED_FIRST_NAME,
                last_name=f"annotator of campaign {campaign.pk}",
            )
            user.set_unusable_password()
            new.append(user)
        User.objects.bulk_create(new)
        team = simulated_annotators(campaign)[:count] if new else existing[:count]
        group, _ = Group.objects.get_or_create(name=ANNOTATOR)
        group.user_set.add(*team)
        campaign.annotators.add(*team)
    return team


# --- one simulated annotator -----------------------------------------------------------------


@dataclass
class SimulationReport:
    campaign: str
    truth: str  # "synthetic" (SyntheticTruth) or "none" (answers drawn uniformly)
    accuracy: dict[str, float] = field(default_factory=dict)  # of the collected modalities
    annotators: int = 0  # simulated annotators that worked
    created: int = 0  # of them made by this run
    votes: int = 0
    gold_checks: int = 0
    training_answers: int = 0
    exams_passed: int = 0
    exams_failed: int = 0
    stopped: str = "done"  # done | votes | cancelled | closed
    refused: list[str] = field(default_factory=list)  # answers the services refused
    idle: dict[str, str] = field(default_factory=dict)  # username → what keeps them from work
    jobs: dict[str, int] = field(default_factory=dict)  # state → count
    utterances: int = 0
    usable: int = 0
    stuck: list[str] = field(default_factory=list)  # why unfinished jobs stay unfinished

    def as_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        jobs = ", ".join(f"{n} {state}" for state, n in sorted(self.jobs.items())) or "none"
        lines = [
            f"Campaign {self.campaign!r}: {self.annotators} simulated annotators "
            f"({self.created} new) cast {self.votes} votes and answered {self.gold_checks} "
            f"hidden gold checks, {self.training_answers} training questions; exams passed "
            f"{self.exams_passed}, failed {self.exams_failed}.",
            f"Jobs: {jobs}. Usable utterances: {self.usable} of {self.utterances}.",
        ]
        if self.truth == "synthetic":
            shares = ", ".join(f"{m} {a:.2f}" for m, a in self.accuracy.items())
            lines.append(f"Answers followed the synthetic ground truth with accuracy {shares}.")
        if self.truth == "none":
            lines.append(
                "This corpus has no ground truth: every simulated answer was drawn uniformly "
                "at random, so these labels mean nothing (dry run only)."
            )
        stopped = {
            "votes": "Stopped after the number of votes asked for.",
            "cancelled": "Stopped on a cancel request.",
            "closed": "Stopped: the campaign was closed.",
        }
        if self.stopped in stopped:
            lines.append(stopped[self.stopped])
        lines += [f"Simulated annotator {name}: {why}" for name, why in sorted(self.idle.items())]
        lines += [f"Refused: {why}" for why in self.refused]
        lines += [f"Stuck: {why}" for why in self.stuck]
        return lines


class _Annotator:
    """One simulated account: answers the truth with its modality's accuracy, else a
    uniformly chosen other label; its own seeded generator makes a run reproducible."""

    def __init__(self, user, campaign: Campaign, accuracy: dict[str, float], seed: int):
        self.user, self.campaign, self.accuracy = user, campaign, accuracy
        self.rng = random.Random(f"{seed}:{_number(campaign, user.username)}")
        self.labels = campaign.label_names
        self.qualified = qualified_modalities(user, campaign)
        self.working = True

    def answer_set(self, truth: frozenset[str] | None, modality: str) -> list[str]:
        """A multi-label answer (simulation.md, "Multi-label answers"): each emotion of the
        truth is reported with the modality's accuracy, each other one added with
        probability (1 - accuracy) / |labels|; without truth each label with 1 / |labels|.
        "None of these" only where the campaign allows it, else one label is chosen."""
        share = 1 / len(self.labels)
        if truth is None:
            chosen = [label for label in self.labels if self.rng.random() < share]
        else:
            miss = (1 - self.accuracy[modality]) * share
            chosen = [
                label
                for label in self.labels
                if self.rng.random() < (self.accuracy[modality] if label in truth else miss)
            ]
        if not chosen and not self.campaign.allow_none:
            chosen = [self.rng.choice(sorted(truth) if truth else self.labels)]
        return chosen

    def answer(self, truth: str | None, modality: str) -> str:
        if truth not in self.labels:  # no truth (or not one of this campaign's labels)
            return self.rng.choice(self.labels)
        if self.rng.random() < self.accuracy[modality]:
            return truth
        return self.rng.choice([label for label in self.labels if label != truth])

    def qualify(self, report: SimulationReport) -> None:
        """Training questions, then exam attempts while the rules allow, per modality with
        an exam, like a person on the qualification page."""
        for exam in self.campaign.exams.all():
            modality = exam.modality
            if modality not in self.campaign.modalities or modality in self.qualified:
                continue
            while lease := next_training_question(self.user, self.campaign, modality):
                self._answer_gold(lease)
                report.training_answers += 1
            while modality not in self.qualified:
                try:
                    attempt = start_exam(self.user, self.campaign, modality)
                except ExamRefused as exc:
                    report.idle[self.user.username] = f"not qualified in {modality}: {exc}"
                    break
                while (question := next_exam_question(self.user, attempt.pk)[1]) is not None:
                    self._answer_gold(question)
                attempt.refresh_from_db()
                report.exams_passed += attempt.passed
                report.exams_failed += not attempt.passed
                self.qualified = qualified_modalities(self.user, self.campaign)

    def _answer_gold(self, lease: Lease) -> None:
        item = lease.gold_item
        submit_vote(self.user, lease.pk, self.answer(item.label, item.modality), 1.0)

    def work_once(self, truths: dict[int, SyntheticTruth], report: SimulationReport) -> bool:
        """Take one task and answer it; False when the services gave none."""
        try:
            lease = next_task(self.user, self.campaign)
        except (Paused, NotQualified) as exc:
            self.working = False
            report.idle[self.user.username] = str(exc)
            return False
        if lease is None:
            return False
        try:
            if lease.kind == Lease.Kind.CHECK:
                self._answer_gold(lease)
                report.gold_checks += 1
            else:
                job = lease.job
                truth = truths.get(job.utterance_id)
                if self.campaign.is_multi_label:  # every emotion the modality shows
                    shown = truth.emotions(job.modality) if truth else None
                    truth_set = emotion_label_set(shown, self.labels) if truth else None
                    label = self.answer_set(truth_set, job.modality)
                else:
                    emotion = truth.emotion(job.modality) if truth else None
                    label = self.answer(emotion, job.modality)
                submit_vote(self.user, lease.pk, label, 1.0)
                report.votes += 1
        except CampaignClosed:
            raise
        except AnnotationError as exc:  # e.g. a reviewer closed the job meanwhile
            report.refused.append(f"{self.user.username}: {exc}")
        return True


# --- a run ---------------------------------------------------------------------------------


def simulate(
    campaign: Campaign,
    *,
    accuracy: dict[str, float] | None = None,
    annotators: int | None = None,
    votes: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SimulationReport:
    """Let simulated annotators work the campaign: `votes` votes, or until none of them gets
    a task. `annotators` fixes how many; by default enough for the rule under the guard,
    and more are added when some cannot work (failed exams, paused by gold checks).

    `progress(votes cast, votes wanted)` is called after every vote.
    """
    check_can_simulate(campaign)
    if annotators is not None and annotators < 1:
        raise SimulationInvalid("Simulate at least one annotator (--annotators 1 or more).")
    if votes is not None and votes < 1:
        raise SimulationInvalid("Ask for at least one vote, or run until done.")
    accuracy = accuracy or parse_accuracy("")
    truths = {
        t.utterance_id: t for t in SyntheticTruth.objects.filter(utterance__corpus=campaign.corpus)
    }
    report = SimulationReport(
        campaign=campaign.name,
        truth="synthetic" if truths else "none",
        accuracy={m: accuracy[m] for m in campaign.modalities},
    )
    needed = annotators or _annotators_the_rule_needs(campaign)
    before = len(simulated_annotators(campaign))
    team = [
        _Annotator(u, campaign, accuracy, seed) for u in add_simulated_annotators(campaign, needed)
    ]
    for member in team:
        member.qualify(report)
    # Made on demand, never more than one more full team: a shortfall that twice the team
    # cannot fill has another cause, which the stuck report names.
    limit = None if annotators is not None else 2 * needed

    def top_up() -> int:
        if not _unfinished(campaign).exists():
            return 0
        added = 0
        while limit is not None and len(team) < limit and _able(team, campaign) < needed:
            (user,) = add_simulated_annotators(campaign, len(team) + 1)[len(team) :]
            member = _Annotator(user, campaign, accuracy, seed)
            member.qualify(report)
            team.append(member)
            added += 1
        return added

    top_up()
    wanted = _votes_wanted(campaign) if votes is None else votes
    try:
        while True:
            served = False
            for member in team:
                if votes is not None and report.votes >= votes:
                    report.stopped = "votes"
                    break
                if should_stop is not None and should_stop():
                    report.stopped = "cancelled"
                    break
                if member.working and member.work_once(truths, report):
                    served = True
                    if progress is not None:
                        progress(report.votes, max(wanted, report.votes))
            if report.stopped != "done" or not (served or top_up()):
                break
    except CampaignClosed:
        report.stopped = "closed"
    report.annotators = len(team)
    report.created = max(0, len(simulated_annotators(campaign)) - before)
    _summarise(campaign, team, report)
    return report


def _able(team: list[_Annotator], campaign: Campaign) -> int:
    """Simulated annotators still working and qualified in every collected modality."""
    return sum(m.working and m.qualified == campaign.modalities for m in team)


def _votes_wanted(campaign: Campaign) -> int:
    """Votes the unfinished jobs need at least (the first three, or the split's next)."""
    rule = campaign.rule
    return sum(
        open_slots(State(state), votes, rule)
        for state, votes in _unfinished(campaign).values_list("state", "votes_count")
    )


def _unfinished(campaign: Campaign):
    return Job.objects.filter(campaign=campaign, excluded=False, priority__lt=Job.Priority.FINAL)


def _summarise(campaign: Campaign, team: list[_Annotator], report: SimulationReport) -> None:
    """The campaign after the run, and why each unfinished job is still unfinished."""
    figures = campaign_progress(campaign)
    report.utterances, report.usable = figures["utterances"], figures["usable_utterances"]
    report.jobs = dict(
        Counter(
            Job.objects.filter(campaign=campaign, excluded=False).values_list("state", flat=True)
        )
    )
    if report.stopped != "done":
        return
    unfinished = list(_unfinished(campaign).values_list("pk", "utterance_id", "modality"))
    if not unfinished:
        return
    ready = set(
        Rendition.objects.filter(
            utterance_id__in={u for _, u, _ in unfinished}, status=Rendition.Status.DONE
        ).values_list("utterance_id", "modality")
    )
    leased = set(
        Lease.objects.filter(
            job_id__in=[pk for pk, _, _ in unfinished],
            status=Lease.Status.ACTIVE,
            expires_at__gt=timezone.now(),
        ).values_list("job_id", flat=True)
    )
    reasons = Counter()
    for pk, utterance_id, modality in unfinished:
        if (utterance_id, modality) not in ready:
            reasons["rendition"] += 1
        elif pk in leased:
            reasons["leased"] += 1
        else:
            reasons["nobody"] += 1
    sentences = {
        "rendition": "{} jobs wait for their rendition; check the corpus's renditions and "
        "that a worker runs.",
        "leased": "{} jobs are leased to someone; they return to the pool when the lease is "
        "answered, skipped or expires, then run the simulation again.",
        "nobody": "{} jobs no simulated annotator may take (under the independence guard each "
        "has seen the utterance, or is not qualified in the modality, or is paused); add "
        "annotators (--annotators) or turn the guard off.",
    }
    report.stuck = [sentences[key].format(n) for key, n in sorted(reasons.items())]


# --- on a worker (the admin action) ------------------------------------------------------------


def start_simulation(
    campaign: Campaign,
    *,
    accuracy: dict[str, float] | None = None,
    annotators: int | None = None,
    votes: int | None = None,
    seed: int = 0,
    user=None,
) -> SimulationRun:
    """Record a simulation of `campaign` and queue it on the `cpu` queue after commit."""
    check_can_simulate(campaign)
    with transaction.atomic():
        Campaign.objects.select_for_update().get(pk=campaign.pk)  # one start at a time
        busy = campaign.simulation_runs.filter(
            status__in=(SimulationRun.Status.QUEUED, SimulationRun.Status.RUNNING)
        ).first()
        if busy is not None:
            raise SimulationInvalid(
                f"Simulation {busy.pk} of {campaign.name!r} is {busy.status}; wait for it "
                "to finish or cancel it first."
            )
        run = SimulationRun.objects.create(
            campaign=campaign,
            created_by=user,
            options={
                "accuracy": accuracy or parse_accuracy(""),
                "annotators": annotators,
                "votes": votes,
                "seed": seed,
            },
        )
        transaction.on_commit(lambda: enqueue_simulation(run.pk))
    return run


def enqueue_simulation(run_id: int) -> None:
    from labeling.tasks import simulate_annotators_task  # tasks import this module

    simulate_annotators_task.delay(run_id)


def run_simulation(run_id: int) -> SimulationRun | None:
    """Run a queued simulation (or take over one whose worker died) and record its end."""
    run = _claim(run_id)
    if run is None or run.status != SimulationRun.Status.RUNNING:
        return run
    row = _RowProgress(run.pk)
    try:
        report = simulate(
            run.campaign,
            accuracy=run.options.get("accuracy"),
            annotators=run.options.get("annotators"),
            votes=run.options.get("votes"),
            seed=run.options.get("seed", 0),
            progress=row,
            should_stop=row.cancel_requested,
        )
    except SimulationInvalid as exc:
        long_jobs.finish_job(run, SimulationRun.Status.FAILED, error=str(exc))
    except Exception as exc:
        logger.exception("simulation %s failed", run.pk)
        long_jobs.finish_job(
            run,
            SimulationRun.Status.FAILED,
            error=f"The simulation stopped on an unexpected error ({type(exc).__name__}: "
            f"{exc}). Votes cast so far are kept; fix the cause and start it again.",
        )
    else:
        status = (
            SimulationRun.Status.CANCELLED
            if report.stopped == "cancelled"
            else SimulationRun.Status.DONE
        )
        finished = {"total": report.votes} if status == SimulationRun.Status.DONE else {}
        long_jobs.finish_job(run, status, done=report.votes, result=report.as_dict(), **finished)
    run.refresh_from_db()
    return run


def _claim(run_id: int) -> SimulationRun | None:
    with transaction.atomic():
        run = (
            SimulationRun.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(pk=run_id)
            .first()
        )
        if run is None:
            logger.warning("simulation %s does not exist (deleted?); nothing to run", run_id)
            return None
        if run.status not in (SimulationRun.Status.QUEUED, SimulationRun.Status.RUNNING):
            return run  # finished already: a repeated delivery, or cancelled while queued
        if run.cancel_requested:
            long_jobs.finish_job(
                run, SimulationRun.Status.CANCELLED, error="Cancelled before it started."
            )
            return run
        long_jobs.update_job(
            run, status=SimulationRun.Status.RUNNING, started_at=timezone.now(), error=""
        )
    return run


class _RowProgress:
    """Writes progress to the run's row at most every PROGRESS_INTERVAL_SECONDS and reads
    its cancel request as often."""

    def __init__(self, run_id: int) -> None:
        self.run_id, self.last, self.cancelled = run_id, float("-inf"), False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_SECONDS:
            return
        self.last = now
        SimulationRun.objects.filter(pk=self.run_id).update(
            done=done, total=total, updated_at=timezone.now()
        )
        self.cancelled = SimulationRun.objects.filter(
            pk=self.run_id, cancel_requested=True
        ).exists()

    def cancel_requested(self) -> bool:
        return self.cancelled
