from labeling.models.annotation import Campaign, Job, Lease, Vote
from labeling.models.corpus import (
    AgeGroup,
    Corpus,
    Gender,
    ImportBatch,
    Modality,
    Rendition,
    SyntheticTruth,
    Utterance,
)

__all__ = [
    "AgeGroup",
    "Campaign",
    "Corpus",
    "Gender",
    "ImportBatch",
    "Job",
    "Lease",
    "Modality",
    "Rendition",
    "SyntheticTruth",
    "Utterance",
    "Vote",
]
