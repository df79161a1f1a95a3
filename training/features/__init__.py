"""Uni-modal feature extraction the CHERMA way (LFMIM §3.3): text, audio and vision.

Each extractor loads a transformers model with ``from_pretrained`` (a local directory or a
hub id), runs batched under ``torch.inference_mode()``, returns float32 numpy arrays and
records its provenance with ``describe()`` for the dataset datasheet.
"""

from .audio import AudioDecodeError, AudioFeatureExtractor, fixed_length, load_audio
from .common import MediaDecodeError
from .haar import HaarFaceDetector
from .text import TextFeatureExtractor, TextFeatures
from .vision import (
    FaceDetector,
    VideoDecodeError,
    VisionFeatureExtractor,
    VisionFeatures,
    crop_face,
    sample_frames,
)

__all__ = [
    "AudioDecodeError",
    "AudioFeatureExtractor",
    "FaceDetector",
    "HaarFaceDetector",
    "MediaDecodeError",
    "TextFeatureExtractor",
    "TextFeatures",
    "VideoDecodeError",
    "VisionFeatureExtractor",
    "VisionFeatures",
    "crop_face",
    "fixed_length",
    "load_audio",
    "sample_frames",
]
