"""Uni-modal feature extraction the CHERMA way (LFMIM §3.3): text, audio and vision.

Each extractor loads a transformers model with ``from_pretrained`` (a local directory or a
hub id), runs batched under ``torch.inference_mode()``, returns float32 numpy arrays and
records its provenance with ``describe()`` for the dataset datasheet.
"""

from .audio import AudioDecodeError, AudioFeatureExtractor, fixed_length, load_audio
from .common import MediaDecodeError
from .text import TextFeatureExtractor, TextFeatures

__all__ = [
    "AudioDecodeError",
    "AudioFeatureExtractor",
    "MediaDecodeError",
    "TextFeatureExtractor",
    "TextFeatures",
    "fixed_length",
    "load_audio",
]
