"""Importing labels made outside this tool (no media needed), to analyse them the same way.

File columns (CSV or JSONL):
    utterance_id  required  the utterance's id in the campaign's corpus (created if missing,
                            as a labels-only utterance without media)
    modality      required  t, a, v or m (one the campaign collects)
    label         required  one of the campaign's labels
    rater         optional  with a rater, the row is a raw vote; without, a decided label
    transcript, duration_seconds, speaker_gender, age_group   optional, for new utterances

Decided labels become jobs decided by import (`source = imported`); raw votes are kept
for the agreement statistics, and jobs with raw votes but no decided label get the verdict
the campaign's rule gives them. Jobs that already have votes cast here are left alone.
All good rows are written in one transaction; bad rows are reported by line.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from labeling.manifest import AGE_GROUPS, GENDERS, RowProblem, has_undecodable_bytes, read_records
from labeling.models import Campaign, ImportedVote, Job, Utterance
from labeling.verdicts import State, verdict

REQUIRED = ("utterance_id", "modality", "label")
OPTIONAL = ("rater", "transcript", "duration_seconds", "speaker_gender", "age_group")


@dataclass
class LabelImportReport:
    labels: int = 0
    votes: int = 0
    unchanged: int = 0
    new_utterances: int = 0
    rejected: list[dict] = field(default_factory=list)


def import_labels(campaign: Campaign, path: Path) -> LabelImportReport:
    records, _ = read_records(path, None, REQUIRED, OPTIONAL)
    report = LabelImportReport()
    decided: dict[tuple[str, str], tuple[int, str]] = {}
    votes: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    extra: dict[str, dict] = {}
    for line, record in records:
        problem = record if isinstance(record, RowProblem) else _check(campaign, line, record)
        if problem:
            report.rejected.append(problem.as_dict())
            continue
        key = (str(record["utterance_id"]).strip(), record["modality"].strip())
        rater = str(record.get("rater") or "").strip()
        extra.setdefault(key[0], record)
        if rater:
            if rater in votes[key]:
                report.rejected.append(
                    {"line": line, "reason": f"rater {rater!r} voted twice here"}
                )
                continue
            votes[key][rater] = record["label"].strip()
        elif key in decided and decided[key][1] != record["label"].strip():
            report.rejected.append(
                {
                    "line": line,
                    "reason": f"a different label for the same "
                    f"utterance and modality is on line {decided[key][0]}",
                }
            )
        else:
            decided[key] = (line, record["label"].strip())
    with transaction.atomic():
        utterances = _utterances(campaign, {key[0] for key in (*decided, *votes)}, extra, report)
        for key in sorted(set(decided) | set(votes)):
            _write_job(
                campaign, utterances[key[0]], key[1], decided.get(key), votes.get(key, {}), report
            )
    return report


def _check(campaign: Campaign, line: int, record: dict) -> RowProblem | None:
    for column in (*REQUIRED, *OPTIONAL):
        value = record.get(column)
        if isinstance(value, str) and has_undecodable_bytes(value):
            return RowProblem(line, f"{column} is not valid UTF-8 text")
    if not str(record.get("utterance_id") or "").strip():
        return RowProblem(line, "utterance_id is empty")
    modality = str(record.get("modality") or "").strip()
    if modality not in campaign.modalities:
        return RowProblem(
            line,
            f"modality {modality!r} is not collected by this campaign "
            f"(it collects {', '.join(campaign.modalities)})",
        )
    label = str(record.get("label") or "").strip()
    if label not in campaign.label_names:
        return RowProblem(
            line, f"unknown label {label!r}: use one of {', '.join(campaign.label_names)}"
        )
    gender, age = record.get("speaker_gender") or "", record.get("age_group") or ""
    if gender and gender not in GENDERS or age and age not in AGE_GROUPS:
        return RowProblem(line, "speaker_gender or age_group has a value this tool doesn't know")
    return None


def _utterances(campaign, ids, extra, report) -> dict[str, Utterance]:
    found = {u.external_id: u for u in campaign.corpus.utterances.filter(external_id__in=ids)}
    for utterance_id in sorted(set(ids) - set(found)):
        record = extra[utterance_id]
        found[utterance_id] = Utterance.objects.create(
            corpus=campaign.corpus,
            external_id=utterance_id,
            source_file="",
            original_name="",
            transcript=str(record.get("transcript") or ""),
            duration_seconds=float(record.get("duration_seconds") or 0),
            speaker_gender=record.get("speaker_gender") or "",
            age_group=record.get("age_group") or "",
        )
        report.new_utterances += 1
    return found


def _write_job(campaign, utterance, modality, decided, votes, report) -> None:
    job, _ = Job.objects.select_for_update().get_or_create(
        campaign=campaign, utterance=utterance, modality=modality
    )
    if job.votes.exists():
        report.rejected.append(
            {
                "line": decided[0] if decided else 0,
                "reason": (
                    f"{utterance.external_id} [{modality}] already has votes cast in this tool; "
                    "imported labels would mix with them"
                ),
            }
        )
        return
    for rater, label in votes.items():
        _, created = ImportedVote.objects.update_or_create(
            job=job, rater=rater, defaults={"label": label}
        )
        report.votes += created
    if decided:
        state, label = State.DECIDED.value, decided[1]
    else:
        all_votes = list(job.imported_votes.values_list("label", flat=True))
        result = verdict(all_votes[: campaign.max_votes], campaign.rule)
        state, label = result.state.value, result.label or ""
    if (job.state, job.label, job.source) == (state, label, "imported"):
        report.unchanged += 1
        return
    job.state, job.label, job.source, job.priority = state, label, "imported", Job.Priority.FINAL
    job.save(update_fields=["state", "label", "source", "priority", "updated_at"])
    report.labels += 1
