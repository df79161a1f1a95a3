"""Audio features (§3.3): 16 kHz mono speech through wav2vec 2.0, one vector per 20 ms frame.

The paper feeds 16 kHz audio (25 ms receptive field, 20 ms shift) to a wav2vec model trained
on WenetSpeech, giving T × 768 features with T depending on the clip; the trainer then fixes
the length to 100 with ``fixed_length`` (§5.1.2), or cuts/pads to 50 as the released code does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import av
import numpy as np
import torch
from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model

from .common import (
    MediaDecodeError,
    ModelDescription,
    autocast,
    resolve_device,
    resolve_precision,
)


class AudioDecodeError(MediaDecodeError):
    """A file has no audio stream, or its audio cannot be decoded."""


def load_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """Decode the first audio stream of ``path`` to mono float32 at ``sample_rate`` Hz (PyAV)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No media file at {path}.")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise AudioDecodeError(
            f"{path} could not be opened as audio or video ({exc}); "
            "check that the file is complete and in a format FFmpeg reads."
        ) from exc
    chunks: list[np.ndarray] = []
    with container:
        if not container.streams.audio:
            raise AudioDecodeError(
                f"{path} has no audio stream; audio features need a clip with sound."
            )
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        try:
            for frame in container.decode(stream):
                chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
        except av.error.FFmpegError as exc:
            raise AudioDecodeError(
                f"The audio of {path} could not be decoded ({exc}); "
                "re-encode the file or exclude this utterance."
            ) from exc
    audio = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if audio.size == 0:
        raise AudioDecodeError(
            f"{path} has an audio stream but no decodable samples; re-encode the file."
        )
    return audio


def frame_count(num_samples: int, conv_kernel: Sequence[int], conv_stride: Sequence[int]) -> int:
    """Frames the wav2vec convolutional front end makes from ``num_samples`` samples."""
    for kernel, stride in zip(conv_kernel, conv_stride, strict=True):
        num_samples = max((num_samples - kernel) // stride + 1, 0)
    return num_samples


def receptive_field(conv_kernel: Sequence[int], conv_stride: Sequence[int]) -> int:
    """Fewest samples that give one frame (400 = 25 ms at 16 kHz for the standard front end)."""
    size = 1
    for kernel, stride in reversed(list(zip(conv_kernel, conv_stride, strict=True))):
        size = (size - 1) * stride + kernel
    return size


def fixed_length(
    frames: np.ndarray, length: int = 100, how: Literal["sample", "cut"] = "sample"
) -> tuple[np.ndarray, np.ndarray]:
    """A (length, H) view of (T, H) frames and its (length,) validity mask.

    Longer sequences are sampled uniformly (indices ``rint(linspace(0, T-1, length))``, the
    paper, §5.1.2) or cut to their first ``length`` frames (``how="cut"``, the released
    code); shorter ones are zero padded at the end with mask False.
    """
    if length < 1:
        raise ValueError("length must be at least 1.")
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 2:
        raise ValueError(f"frames must be (T, H); got shape {frames.shape}.")
    count = frames.shape[0]
    if count > length:
        if how == "sample":
            index = np.rint(np.linspace(0, count - 1, length)).astype(np.int64)
        elif how == "cut":
            index = np.arange(length)
        else:
            raise ValueError(f"how must be 'sample' or 'cut', not {how!r}.")
        return frames[index], np.ones(length, dtype=bool)
    out = np.zeros((length, frames.shape[1]), dtype=np.float32)
    out[:count] = frames
    mask = np.zeros(length, dtype=bool)
    mask[:count] = True
    return out, mask


class AudioFeatureExtractor:
    """wav2vec 2.0 last hidden states (T, hidden) per utterance, at the clip's full length.

    Inputs are normalised with the model's ``Wav2Vec2FeatureExtractor`` when its directory has
    one, else to zero mean and unit variance. Clips of similar length are batched, padded, with
    an attention mask. Models with group norm in their convolutional front end (e.g.
    wav2vec2-base and the paper's Chinese wav2vec2-base) would see the padding in its
    statistics, so their front end runs clip by clip and only the transformer is batched
    (``batch_any_length``; False batches only clips of equal length, as datasets made before
    did: a batch of one clip was twice as slow per clip on CPU).
    """

    def __init__(
        self,
        model_name_or_path: str,
        device: str | None = None,
        batch_size: int = 8,
        sample_rate: int | None = None,
        precision: str = "auto",
        batch_any_length: bool = True,
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.batch_size = batch_size
        self.model = Wav2Vec2Model.from_pretrained(model_name_or_path, dtype=torch.float32)
        self.model.to(self.device).eval()
        try:
            self.processor = Wav2Vec2FeatureExtractor.from_pretrained(model_name_or_path)
        except (OSError, ValueError):
            self.processor = None
        processor_rate = getattr(self.processor, "sampling_rate", None)
        self.sample_rate = sample_rate or processor_rate or 16000
        if processor_rate and self.sample_rate != processor_rate:
            raise ValueError(
                f"{model_name_or_path} expects {processor_rate} Hz audio; "
                f"leave sample_rate unset or set it to {processor_rate}."
            )
        config = self.model.config
        self.hidden_size = int(config.hidden_size)
        self.supports_mask = config.feat_extract_norm == "layer"
        self.batch_any_length = batch_any_length
        self.min_samples = receptive_field(config.conv_kernel, config.conv_stride)
        self._description = ModelDescription(model_name_or_path, self.model, self.precision)

    def describe(self) -> dict:
        """Model provenance and settings, for the dataset datasheet."""
        config = self.model.config
        return {
            "modality": "a",
            **self._description.base(self.hidden_size),
            "sample_rate": self.sample_rate,
            "normalisation": "feature_extractor" if self.processor else "zero_mean_unit_var",
            "receptive_field_samples": self.min_samples,
            "stride_samples": int(np.prod(config.conv_stride)),
            "batched_with_attention_mask": self.batches_any_length,
            "output": "last_hidden_state",
        }

    @property
    def batches_any_length(self) -> bool:
        """Whether clips of different lengths share a batch (padded, with an attention mask)."""
        return self.supports_mask or self.batch_any_length

    def frame_count(self, num_samples: int) -> int:
        """Frames this model makes from a clip of ``num_samples`` samples (short clips padded)."""
        config = self.model.config
        samples = max(num_samples, self.min_samples)
        return frame_count(samples, config.conv_kernel, config.conv_stride)

    def normalise(self, waveform: np.ndarray) -> np.ndarray:
        waveform = np.asarray(waveform, dtype=np.float32).reshape(-1)
        if self.processor is not None:
            values = self.processor(
                waveform, sampling_rate=self.sample_rate, return_tensors="np"
            ).input_values[0]
            return np.asarray(values, dtype=np.float32)
        return (waveform - waveform.mean()) / np.sqrt(waveform.var() + 1e-7)

    def extract(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One (T_i, hidden) float32 array per mono waveform at ``sample_rate`` Hz."""
        inputs = [self.normalise(w) for w in waveforms]
        for i, values in enumerate(inputs):
            if values.size == 0:
                raise AudioDecodeError(f"Waveform {i} is empty; there is no audio to encode.")
            if values.size < self.min_samples:
                inputs[i] = np.pad(values, (0, self.min_samples - values.size))
        results: list[np.ndarray | None] = [None] * len(inputs)
        # One autocast region for all batches: bf16 copies of the weights are made once.
        with torch.inference_mode(), autocast(self.precision, self.device):
            for batch in self._batches([v.size for v in inputs]):
                clips = [inputs[i] for i in batch]
                if self.supports_mask or len({c.size for c in clips}) == 1:
                    hidden = self._forward(clips)
                else:
                    hidden = self._forward_front_end_per_clip(clips)
                hidden = hidden.float().cpu().numpy()
                for row, (i, clip) in enumerate(zip(batch, clips, strict=True)):
                    results[i] = np.ascontiguousarray(hidden[row, : self.frame_count(clip.size)])
        return results  # type: ignore[return-value]

    def _forward(self, clips: list[np.ndarray]) -> torch.Tensor:
        """Last hidden states (B, T, hidden) of clips padded to one length, with an attention
        mask where the model takes one."""
        lengths = [c.size for c in clips]
        padded = np.zeros((len(clips), max(lengths)), dtype=np.float32)
        mask = np.zeros(padded.shape, dtype=np.int64)
        for row, (clip, n) in enumerate(zip(clips, lengths, strict=True)):
            padded[row, :n] = clip
            mask[row, :n] = 1
        kwargs = {"input_values": torch.from_numpy(padded).to(self.device)}
        if self.supports_mask:
            kwargs["attention_mask"] = torch.from_numpy(mask).to(self.device)
        return self.model(**kwargs).last_hidden_state

    def _forward_front_end_per_clip(self, clips: list[np.ndarray]) -> torch.Tensor:
        """``Wav2Vec2Model.forward`` for a group-norm model on clips of different lengths: the
        convolutional front end (its group norm spans the whole clip) clip by clip, then the
        projection and the transformer batched, padded frames masked (B, T, hidden)."""
        model = self.model
        front = [
            model.feature_extractor(torch.from_numpy(c)[None].to(self.device))[0].transpose(0, 1)
            for c in clips
        ]  # (T_i, conv_dim)
        frames = max(f.shape[0] for f in front)
        padded = front[0].new_zeros((len(front), frames, front[0].shape[1]))
        mask = torch.zeros((len(front), frames), dtype=torch.bool, device=padded.device)
        for row, f in enumerate(front):
            padded[row, : f.shape[0]] = f
            mask[row, : f.shape[0]] = True
        hidden, _ = model.feature_projection(padded)
        hidden = model.encoder(hidden, attention_mask=mask).last_hidden_state
        return model.adapter(hidden) if model.adapter is not None else hidden

    def extract_files(self, paths: Sequence[str | Path]) -> list[np.ndarray]:
        """Decode each file with ``load_audio`` and extract its frame features."""
        return self.extract([load_audio(p, self.sample_rate) for p in paths])

    def _batches(self, lengths: list[int]) -> list[list[int]]:
        """Indices grouped by similar length, so little padding is computed."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        batches: list[list[int]] = []
        for i in order:
            current = batches[-1] if batches else None
            fits = (
                current is not None
                and len(current) < self.batch_size
                and (self.batches_any_length or lengths[current[0]] == lengths[i])
            )
            if fits:
                current.append(i)
            else:
                batches.append([i])
        return batches
