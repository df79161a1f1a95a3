"""Importing labels made outside this tool (no media needed), to analyse them the same way.

Two layouts (CSV or JSONL):
    long  utterance_id, modality, label[, rater]     one row per label
    wide  utterance_id, t, a, v, m[, rater]          one row per utterance (or per rater),
                                                     one column per modality; an empty
                                                     cell gives no label
Other columns: rater (with a rater, a row is a raw vote; without, a decided label) and, for
utterances this import creates, transcript, duration_seconds, speaker_gender, age_group.

An utterance id the corpus does not have is refused (a typo would skew the counts), unless
the import is asked to create labels-only utterances or the corpus is labels-only (none of
its utterances has media). Rows that contradict each other are all refused, each naming the
other lines, so no row wins by its place in the file; a label that contradicts an earlier
import is refused too. Raw votes are kept in file order and a job takes at most the rule's
`max_votes` of them: later rows are refused by line. Decided labels become jobs decided by
import (`source = imported`); jobs with raw votes but no decided label get the verdict the
campaign's rule gives them. Jobs with votes cast here are left alone.

Everything is written in one transaction; with `strict`, nothing is written if any row is
refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from django.db import transaction

from labeling.emotions import MODALITIES
from labeling.manifest import (
    AGE_GROUPS,
    GENDERS,
    ManifestError,
    RowProblem,
    has_undecodable_bytes,
    read_records,
)
from labeling.models import Campaign, ImportedVote, Job, Utterance
from labeling.services import tallies
from labeling.verdicts import State, verdict

REQUIRED = ("utterance_id",)
LONG = ("modality", "label")
METADATA = ("transcript", "duration_seconds", "speaker_gender", "age_group")
OPTIONAL = (*LONG, "rater", *MODALITIES, *METADATA)

LINE = attrgetter("line")
Key = tuple[str, str]  # (utterance id, modality)
Progress = Callable[[int, int], None]  # (jobs written, jobs to write)


@dataclass
class LabelImportReport:
    labels: int = 0
    votes: int = 0
    unchanged: int = 0
    new_utterances: int = 0
    rejected: list[dict] = field(default_factory=list)
    written: bool = True  # False when `strict` refused the whole file


@dataclass(frozen=True)
class Row:
    """One label of the file: a decided label (no rater) or a raw vote."""

    line: int
    utterance_id: str
    modality: str
    label: str
    rater: str

    @property
    def key(self) -> Key:
        return self.utterance_id, self.modality

    @property
    def where(self) -> str:
        return f"{self.utterance_id} [{self.modality}]"


def import_labels(
    campaign: Campaign,
    path: Path,
    *,
    create_utterances: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
) -> LabelImportReport:
    """Import the file's labels and raw votes into `campaign`; the report lists refused rows."""
    if campaign.is_multi_label:
        raise ManifestError(
            f"{campaign} is a multi-label campaign, and label import reads one label per "
            "row: importing sets of labels is not supported yet. Import into a single-label "
            "campaign, or collect the multi-label votes in this tool."
        )
    records, _ = read_records(path, None, REQUIRED, OPTIONAL)
    _check_header(path, records)
    report = LabelImportReport()
    rows: list[Row] = []
    extra: dict[str, dict] = {}
    for line, record in records:
        if isinstance(record, RowProblem):
            report.rejected.append(record.as_dict())
            continue
        for row in _rows(campaign, line, record, report):
            rows.append(row)
            extra.setdefault(row.utterance_id, record)
    decided, votes = _agreeing(rows, report)
    keys = sorted({*decided, *votes}, key=lambda key: _key_rows(key, decided, votes)[0].line)
    with transaction.atomic():
        utterances = _utterances(campaign, keys, decided, votes, extra, create_utterances, report)
        keys = [key for key in keys if key[0] in utterances]
        for done, key in enumerate(keys, start=1):
            _write_job(campaign, utterances[key[0]], key, decided.get(key), votes[key], report)
            if progress is not None:
                progress(done, len(keys))
        if strict and report.rejected:
            transaction.set_rollback(True)
            report.labels = report.votes = report.unchanged = report.new_utterances = 0
            report.written = False
    report.rejected.sort(key=lambda problem: problem["line"])
    return report


def _check_header(path: Path, records) -> None:
    """A CSV's columns must be one layout: modality and label, or modality columns."""
    first = next((record for _, record in records if isinstance(record, dict)), None)
    if first is None or Path(path).suffix.lower() != ".csv":
        return  # JSONL: each object is checked on its own
    long, wide = [c for c in LONG if c in first], [m for m in MODALITIES if m in first]
    if long and wide:
        raise ManifestError(
            f"The CSV has both {', '.join(long)} and modality columns ({', '.join(wide)}); "
            "use modality and label (one row per label) or t, a, v, m (one row per utterance)."
        )
    if not wide and len(long) < 2:
        raise ManifestError(
            "The CSV needs modality and label columns (one row per label) or one column per "
            "modality t, a, v, m (one row per utterance)."
        )


def _rows(campaign: Campaign, line: int, record: dict, report: LabelImportReport) -> list[Row]:
    """The labels of one record, in either layout; refused cells go to the report."""
    problem = _check_record(line, record)
    if problem is not None:
        report.rejected.append(problem.as_dict())
        return []
    utterance_id = str(record["utterance_id"]).strip()
    rater = str(record.get("rater") or "").strip()
    if any(column in record for column in LONG):
        cells = [(str(record.get("modality") or "").strip(), record.get("label"), "")]
    else:
        cells = [(m, record[m], f"{m}: ") for m in MODALITIES if str(record.get(m) or "").strip()]
        if not cells:
            report.rejected.append({"line": line, "reason": "no label in any modality column"})
    rows = []
    for modality, label, prefix in cells:
        label = str(label or "").strip()
        reason = _check_label(campaign, modality, label)
        if reason:
            report.rejected.append({"line": line, "reason": prefix + reason})
        else:
            rows.append(Row(line, utterance_id, modality, label, rater))
    return rows


def _check_record(line: int, record: dict) -> RowProblem | None:
    for column in OPTIONAL + REQUIRED:
        value = record.get(column)
        if isinstance(value, str) and has_undecodable_bytes(value):
            return RowProblem(line, f"{column} is not valid UTF-8 text")
    if not str(record.get("utterance_id") or "").strip():
        return RowProblem(line, "utterance_id is empty")
    if not any(column in record for column in (*LONG, *MODALITIES)):
        return RowProblem(
            line, "give modality and label, or a label in a column per modality (t, a, v, m)"
        )
    gender, age = record.get("speaker_gender") or "", record.get("age_group") or ""
    if gender and gender not in GENDERS or age and age not in AGE_GROUPS:
        return RowProblem(line, "speaker_gender or age_group has a value this tool doesn't know")
    return None


def _check_label(campaign: Campaign, modality: str, label: str) -> str:
    if modality not in campaign.modalities:
        return (
            f"modality {modality!r} is not collected by this campaign "
            f"(it collects {', '.join(campaign.modalities)})"
        )
    if label not in campaign.label_names:
        return f"unknown label {label!r}: use one of {', '.join(campaign.label_names)}"
    return ""


def _agreeing(
    rows: list[Row], report: LabelImportReport
) -> tuple[dict[Key, Row], dict[Key, list[Row]]]:
    """The decided label of each key and its raw votes in file order, without contradictions.

    Rows that say different things about the same label (two decided labels of one job, or
    one rater's two votes) are all refused, each naming the others' lines; a row repeating
    another exactly counts once.
    """
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for row in rows:
        groups[(row.key, row.rater)].append(row)
    decided: dict[Key, Row] = {}
    votes: dict[Key, list[Row]] = defaultdict(list)
    for (key, rater), same in groups.items():
        if len({row.label for row in same}) > 1:
            for row in same:
                others = [str(o.line) for o in same if o.label != row.label]
                what = (
                    f"rater {rater!r} gives a different label"
                    if rater
                    else "a different label for the same utterance and modality is"
                )
                plural = "s" if len(others) > 1 else ""
                report.rejected.append(
                    {
                        "line": row.line,
                        "reason": f"{row.where}: {what} on line{plural} {', '.join(others)}",
                    }
                )
        elif rater:
            votes[key].append(same[0])
        else:
            decided[key] = same[0]
    for key in votes:
        votes[key].sort(key=lambda row: row.line)
    return decided, votes


def _reject(report: LabelImportReport, rows: list[Row], reason: str) -> None:
    report.rejected += [{"line": row.line, "reason": f"{row.where}: {reason}"} for row in rows]


def _utterances(
    campaign, keys, decided, votes, extra, create: bool, report
) -> dict[str, Utterance]:
    """The keys' utterances; unknown ids are created only when asked or labels-only."""
    ids = {key[0] for key in keys}
    corpus = campaign.corpus
    found = {u.external_id: u for u in corpus.utterances.filter(external_id__in=ids)}
    missing = [i for i in dict.fromkeys(key[0] for key in keys) if i not in found]
    labels_only = not corpus.utterances.exclude(source_file="").exists()
    if missing and not (create or labels_only):
        for key in keys:
            if key[0] not in found:
                _reject(
                    report,
                    _key_rows(key, decided, votes),
                    f"no utterance {key[0]!r} in corpus {corpus.name!r}: check the id, or "
                    "create labels-only utterances for unknown ids (--create-utterances, or "
                    "the admin's 'create utterances' box)",
                )
        return found
    for utterance_id in missing:
        record = extra[utterance_id]
        found[utterance_id] = Utterance.objects.create(
            corpus=corpus,
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


def _key_rows(key: Key, decided: dict[Key, Row], votes: dict[Key, list[Row]]) -> list[Row]:
    return sorted([*votes.get(key, []), *([decided[key]] if key in decided else [])], key=LINE)


def _write_job(campaign, utterance, key: Key, decided: Row | None, votes: list[Row], report):
    job, _ = Job.objects.select_for_update().get_or_create(
        campaign=campaign, utterance=utterance, modality=key[1]
    )
    rows = [*votes, *([decided] if decided else [])]
    if job.votes.exists():
        _reject(
            report,
            sorted(rows, key=LINE),
            "already has votes cast in this tool; imported labels would mix with them",
        )
        return
    if decided and job.state == State.DECIDED and job.label != decided.label:
        _reject(
            report,
            [decided],
            f"already has the label {job.label!r} from an earlier import; the file says "
            f"{decided.label!r}. Set a label on the job's review page to change it.",
        )
        decided = None
    known = dict(job.imported_votes.order_by("pk").values_list("rater", "label"))
    matched = 0  # vote rows stored now or stored by an earlier import
    for row in votes:
        if row.rater in known:
            if known[row.rater] != row.label:
                _reject(
                    report,
                    [row],
                    f"rater {row.rater!r} voted {known[row.rater]!r} in an earlier import",
                )
            else:
                matched += 1
            continue
        if len(known) >= campaign.max_votes:
            _reject(
                report,
                [row],
                f"one raw vote too many: the campaign's rule takes at most "
                f"{campaign.max_votes} votes per job (max_votes), and this row comes after them",
            )
            continue
        ImportedVote.objects.create(job=job, rater=row.rater, label=row.label)
        known[row.rater] = row.label
        matched += 1
        report.votes += 1
    job.campaign = campaign
    tallies.recount(job)  # the job's lock is held (select_for_update above)
    if decided is None and not matched:
        return  # every row of this job was refused
    if decided:
        state, label = State.DECIDED.value, decided.label
    elif job.source == "imported" and job.state == State.DECIDED:
        # A given label, or raw votes that further votes within max_votes cannot overturn.
        state, label = job.state, job.label
    else:
        # The first max_votes in the order given (imports before this one kept them all).
        result = verdict(list(known.values())[: campaign.max_votes], campaign.rule)
        state, label = result.state.value, result.label or ""
    if (job.state, job.label, job.source) == (state, label, "imported"):
        report.unchanged += 1
        return
    job.state, job.label, job.source, job.priority = state, label, "imported", Job.Priority.FINAL
    job.save(update_fields=["state", "label", "source", "priority", "updated_at"])
    report.labels += 1
