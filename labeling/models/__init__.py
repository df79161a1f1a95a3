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
    ScreeningStatus,
    SyntheticTruth,
    Utterance,
)
from labeling.models.exports import ExportJob
from labeling.models.predictions import Prediction, PredictionJob
from labeling.models.qualification import Exam, ExamAttempt, GoldAnswer, GoldItem
from labeling.models.runs import TrainingEpoch, TrainingRun
from labeling.models.screening import ClipScreening
from labeling.models.simulation import SimulationRun
from labeling.models.tallies import LabelTally

__all__ = [
    "AgeGroup",
    "AnnotatorPause",
    "Campaign",
    "ClipScreening",
    "Corpus",
    "Exam",
    "ExamAttempt",
    "ExportJob",
    "Gender",
    "GoldAnswer",
    "GoldItem",
    "ImportBatch",
    "ImportedVote",
    "Job",
    "LabelTally",
    "Lease",
    "Modality",
    "Prediction",
    "PredictionJob",
    "Rendition",
    "ReviewAction",
    "ScreeningStatus",
    "SimulationRun",
    "SyntheticTruth",
    "TrainingEpoch",
    "TrainingRun",
    "Utterance",
    "Vote",
]
