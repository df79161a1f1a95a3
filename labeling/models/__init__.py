from labeling.models.annotation import (
    AnnotatorPause,
    Campaign,
    ImportedVote,
    Job,
    Lease,
    ReviewAction,
    Vote,
)
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
from labeling.models.exports import ExportJob
from labeling.models.runs import TrainingEpoch, TrainingRun

__all__ = [
    "AgeGroup",
    "AnnotatorPause",
    "Campaign",
    "Corpus",
    "ExportJob",
    "Gender",
    "ImportBatch",
    "ImportedVote",
    "Job",
    "Lease",
    "Modality",
    "Rendition",
    "ReviewAction",
    "SyntheticTruth",
    "TrainingEpoch",
    "TrainingRun",
    "Utterance",
    "Vote",
]
