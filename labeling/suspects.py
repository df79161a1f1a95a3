"""Suspect votes: a vote that disagrees with its job's final label and with a confident model.

Pure (no Django): the selectors hand in plain answers, the rule says which votes are
suspect and how often. See suspects.md for why the rule is what it is.

An answer is a label (single-label campaign, a str) or a frozenset of labels (multi-label);
None means "no answer" (a job with no final label, an utterance the model did not score).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Answer = str | frozenset[str]


@dataclass(frozen=True)
class ModelGuess:
    """The assistant run's prediction for one utterance through one modality's head."""

    answer: Answer
    confidence: float


def as_answer(label: str, label_set: Iterable[str] | None) -> Answer | None:
    """A vote's, a job's or a prediction's stored (label, label_set) as an Answer: the set
    when there is one (order-free: a run's class order may differ from the campaign's),
    else the label; None when both are empty (no answer)."""
    if label_set is not None:
        return frozenset(label_set)
    return label or None


def confident(guess: ModelGuess | None, tau: float, final: Answer) -> bool:
    """A prediction that counts: made at confidence >= tau, and of the same kind as the
    final label (a set against a set); a run of the other label mode never counts."""
    return (
        guess is not None
        and guess.confidence >= tau
        and isinstance(guess.answer, frozenset) == isinstance(final, frozenset)
    )


def model_disagrees(final: Answer | None, guess: ModelGuess | None, tau: float) -> bool:
    """The review filter: the job has a final label and the model, at confidence >= tau,
    predicts something else."""
    return final is not None and confident(guess, tau, final) and guess.answer != final


def is_suspect(vote: Answer, final: Answer | None, guess: ModelGuess | None, tau: float) -> bool:
    """A vote is suspect when it differs from the job's final label AND from the model's
    prediction made at confidence >= tau. The model need not agree with the final label:
    a vote that neither the other annotators nor a confident model back is suspect either
    way (suspects.md). No final label or no confident prediction: never suspect."""
    if final is None or not confident(guess, tau, final):
        return False
    return vote != final and vote != guess.answer


@dataclass(frozen=True)
class SuspectRate:
    decided: int  # votes on jobs with a final label (with or without a prediction)
    suspect: int

    @property
    def rate(self) -> float | None:
        return self.suspect / self.decided if self.decided else None


def suspect_rate(
    votes: Iterable[tuple[Answer, Answer | None, ModelGuess | None]], tau: float
) -> SuspectRate:
    """Over (vote, final, guess) triples: how many votes are decided (their job has a final
    label) and how many of those are suspect."""
    decided = suspect = 0
    for vote, final, guess in votes:
        if final is None:
            continue
        decided += 1
        suspect += is_suspect(vote, final, guess, tau)
    return SuspectRate(decided, suspect)


def should_pause(rate: SuspectRate, *, pause_above: float, min_votes: int) -> bool:
    """Pause when pausing is on (pause_above > 0), the annotator has at least min_votes
    decided votes and their suspect rate is strictly above pause_above."""
    if pause_above <= 0 or rate.decided < max(min_votes, 1):
        return False
    return rate.suspect / rate.decided > pause_above
