"""Uni-modal feature extraction the CHERMA way (LFMIM §3.3): text, audio and vision.

Each extractor loads a transformers model with ``from_pretrained`` (a local directory or a
hub id), runs batched under ``torch.inference_mode()``, returns float32 numpy arrays and
records its provenance with ``describe()`` for the dataset datasheet.
"""

from training._lazy import lazy_exports

_EXPORTS = {
    "AudioDecodeError": ".audio",
    "AudioFeatureExtractor": ".audio",
    "fixed_length": ".audio",
    "load_audio": ".audio",
    "MediaDecodeError": ".common",
    "HaarFaceDetector": ".haar",
    "TextFeatureExtractor": ".text",
    "TextFeatures": ".text",
    "FaceDetector": ".vision",
    "VideoDecodeError": ".vision",
    "VisionFeatureExtractor": ".vision",
    "VisionFeatures": ".vision",
    "crop_face": ".vision",
    "sample_frames": ".vision",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
