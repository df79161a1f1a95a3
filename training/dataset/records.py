"""What the exporter takes (plain records, extractors) and gives back (a result), and its errors.

The Django side turns decided utterances into ``ExportRecord``s; nothing here knows Django.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from labeling.emotions import EMOTIONS, MODALITIES, RELEASED_CODE_ORDER

ClassOrder = Literal["paper", "released"]
CLASS_ORDERS: dict[str, tuple[str, ...]] = {"paper": EMOTIONS, "released": RELEASED_CODE_ORDER}
CUSTOM_ORDER = "custom"  # class_order recorded when explicit `classes` match no named order
SINGLE_LABEL, MULTI_LABEL = "single-label", "multi-label"
LABEL_MODES: tuple[str, ...] = (SINGLE_LABEL, MULTI_LABEL)


class ExportError(ValueError):
    """The export cannot start or finish as asked; the message says what to change."""


class ExportLocked(ExportError):
    """Another export holds the lock of the same partial directory: it is still writing."""


class NothingDecoded(ExportError):
    """Not one utterance's media decoded; ``failed`` lists each with its error."""

    def __init__(self, message: str, failed: list[dict]) -> None:
        super().__init__(message)
        self.failed = failed


class ExportCancelled(RuntimeError):
    """``should_stop()`` asked the export to stop; the partial directory is kept for a re-run."""


@dataclass(frozen=True)
class ExportRecord:
    """One selected utterance: its four decided labels, transcript and original video.

    ``labels`` maps t, a, v, m to one label name (single-label) or to the set of label names
    present (multi-label, a ``frozenset``; empty = none of them).
    """

    utterance_id: str
    labels: Mapping[str, str | frozenset[str]]
    transcript: str
    media_path: str | Path  # the original video with its sound (the m rendition's source)
    duration_seconds: float
    speaker_gender: str = ""
    age_group: str = ""
    programme: str = ""
    scenario: str = ""


@dataclass
class Extractors:
    """The three feature extractors an export runs (``training.features`` or look-alikes).

    ``text`` needs ``extract(list[str])``, ``sequence_length``, ``hidden_size``; ``audio``
    needs ``extract(list[waveform])``, ``sample_rate``, ``hidden_size``; ``vision`` needs
    ``extract_file(path)``, ``num_frames``, ``hidden_size``; each needs ``describe()``.
    """

    text: Any
    audio: Any
    vision: Any

    @classmethod
    def from_pretrained(
        cls,
        text: str,
        audio: str,
        vision: str,
        *,
        device: str | None = None,
        precision: str = "auto",
        **vision_options,
    ) -> Extractors:
        """Load the three models by path or hub id (the paper's settings unless told);
        `precision` as in training.features.common.resolve_precision."""
        from training.features import (
            AudioFeatureExtractor,
            TextFeatureExtractor,
            VisionFeatureExtractor,
        )

        return cls(
            text=TextFeatureExtractor(text, device=device, precision=precision),
            audio=AudioFeatureExtractor(audio, device=device, precision=precision),
            vision=VisionFeatureExtractor(
                vision, device=device, precision=precision, **vision_options
            ),
        )

    def by_modality(self) -> dict[str, Any]:
        return {"t": self.text, "a": self.audio, "v": self.vision}


@dataclass
class ExportResult:
    out_dir: Path
    sizes: dict[str, int]  # utterances with features, per split
    failed: list[dict[str, str]]  # [{utterance_id, error}]
    num_shards: int
    reused_shards: list[int] = field(default_factory=list)  # verified and kept from a partial run
    datasheet: dict = field(default_factory=dict)


def class_names(class_order: str) -> tuple[str, ...]:
    try:
        return CLASS_ORDERS[class_order]
    except KeyError:
        raise ExportError(
            f"class_order must be 'paper' or 'released', not {class_order!r}."
        ) from None


def resolve_classes(class_order: str, classes: Sequence[str] | None) -> tuple[tuple[str, ...], str]:
    """(class names in id order, the class order to record): explicit ``classes`` (e.g. a
    campaign's own label set) win over ``class_order``; they are recorded under the name of
    the named order they equal, else as ``"custom"``."""
    if classes is None:
        return class_names(class_order), class_order
    names = tuple(classes)
    if isinstance(classes, str) or not names or not all(isinstance(n, str) and n for n in names):
        raise ExportError("classes must be a non-empty list of label names (strings).")
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ExportError(f"classes lists {', '.join(map(repr, repeated))} more than once.")
    named = [order for order, known in CLASS_ORDERS.items() if known == names]
    if class_order in named:
        return names, class_order
    return names, named[0] if named else CUSTOM_ORDER


def check_label_mode(label_mode: str) -> None:
    if label_mode not in LABEL_MODES:
        raise ExportError(
            f"label_mode must be 'single-label' or 'multi-label', not {label_mode!r}."
        )


def label_names(label: str | Collection[str]) -> list[str]:
    """The names one label holds: itself (single-label) or its members (multi-label)."""
    return [label] if isinstance(label, str) else list(label)


def check_records(
    records: list[ExportRecord],
    classes: tuple[str, ...],
    label_mode: str = SINGLE_LABEL,
    *,
    labelled: bool = True,
) -> None:
    """Every problem a record can have that would otherwise surface halfway through.
    ``labelled=False`` (a pool): every record must come without labels."""
    if not records:
        raise ExportError("There are no utterances to export; select at least one.")
    seen: set[str] = set()
    for record in records:
        uid = record.utterance_id
        if not isinstance(uid, str) or not uid:
            raise ExportError(f"Every utterance needs a non-empty string id; got {uid!r}.")
        if uid in seen:
            raise ExportError(f"Utterance {uid} is listed twice; export each utterance once.")
        seen.add(uid)
        if not labelled:
            if record.labels:
                raise ExportError(
                    f"Utterance {uid} has labels; a pool holds utterances without labels."
                )
            continue
        if set(record.labels) != set(MODALITIES):
            raise ExportError(
                f"Utterance {uid} has labels for {sorted(record.labels)}; an exported utterance "
                "needs exactly one decided label (or label set) for each of t, a, v and m."
            )
        for m, label in record.labels.items():
            _check_mode(uid, m, label, label_mode)
        unknown = sorted(
            {n for label in record.labels.values() for n in label_names(label) if n not in classes}
        )
        if unknown:
            raise ExportError(
                f"Utterance {uid} has unknown label(s) {', '.join(map(repr, unknown))}; "
                f"labels must be one of {', '.join(classes)}."
            )


def _check_mode(uid: str, modality: str, label: object, label_mode: str) -> None:
    if label_mode == SINGLE_LABEL and not isinstance(label, str):
        raise ExportError(
            f"Utterance {uid} has a set of labels for {modality} in a single-label export; "
            "export multi-label data with label_mode='multi-label'."
        )
    if label_mode == MULTI_LABEL:
        if isinstance(label, str):
            raise ExportError(
                f"Utterance {uid} has the single label {label!r} for {modality} in a "
                "multi-label export; give every label as a frozenset of names (the modes "
                "cannot be mixed)."
            )
        if not isinstance(label, Collection) or not all(isinstance(n, str) for n in label):
            raise ExportError(
                f"Utterance {uid}'s {modality} label must be a frozenset of label names, "
                f"not {label!r}."
            )
