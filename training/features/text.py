"""Text features (§3.3): contextual token embeddings from a BERT encoder.

The paper uses Chinese BERT-base with whole word masking: transcripts are padded to 78
words (Chinese BERT tokenises one character per token), CLS and SEP are added, and the
last hidden states of the resulting 80 tokens are the feature sequence (80 × 768).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from .common import ModelDescription, autocast, resolve_device, resolve_precision


class TextFeatures(NamedTuple):
    features: np.ndarray  # (N, max_words + 2, hidden) float32
    mask: np.ndarray  # (N, max_words + 2) bool, True on CLS, tokens and SEP


class TextFeatureExtractor:
    """BERT last hidden states for transcripts, padded or truncated to ``max_words`` + 2."""

    def __init__(
        self,
        model_name_or_path: str,
        device: str | None = None,
        batch_size: int = 32,
        max_words: int = 78,
        precision: str = "auto",
    ) -> None:
        if max_words < 1:
            raise ValueError("max_words must be at least 1; the paper uses 78.")
        self.model_name_or_path = model_name_or_path
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.batch_size = batch_size
        self.max_words = max_words
        self.tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
        self.model = AutoModel.from_pretrained(model_name_or_path, dtype=torch.float32)
        self.model.to(self.device).eval()
        self.hidden_size = int(self.model.config.hidden_size)
        vocabulary = getattr(self.model.config, "vocab_size", None)
        if vocabulary and len(self.tokenizer) < vocabulary // 2:
            raise ValueError(
                f"The tokenizer in {model_name_or_path} knows {len(self.tokenizer)} tokens but the "
                f"model has {vocabulary}: most words would become [UNK]. Save the tokenizer "
                "with its vocabulary (BertTokenizerFast(vocab=path_to_vocab_txt))."
            )
        self._description = ModelDescription(model_name_or_path, self.model, self.precision)

    @property
    def sequence_length(self) -> int:
        return self.max_words + 2

    def describe(self) -> dict:
        """Model provenance and settings, for the dataset datasheet."""
        return {
            "modality": "t",
            **self._description.base(self.hidden_size),
            "tokenizer": type(self.tokenizer).__name__,
            "max_words": self.max_words,
            "sequence_length": self.sequence_length,
            "output": "last_hidden_state",
        }

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Token ids padded/truncated to exactly ``max_words`` + 2 (CLS … SEP PAD …)."""
        return self.tokenizer(
            list(texts),
            padding="max_length",
            truncation=True,
            max_length=self.sequence_length,
            return_tensors="pt",
        )

    def extract(self, texts: Sequence[str]) -> TextFeatures:
        """Features (N, max_words + 2, hidden) and token mask (N, max_words + 2) for N texts."""
        if isinstance(texts, str):
            raise TypeError("extract() takes a list of transcripts, not one string.")
        features = np.zeros((len(texts), self.sequence_length, self.hidden_size), np.float32)
        mask = np.zeros((len(texts), self.sequence_length), dtype=bool)
        with torch.inference_mode(), autocast(self.precision, self.device):
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenize(texts[start : start + self.batch_size])
                batch = {k: v.to(self.device) for k, v in batch.items()}
                out = self.model(**batch).last_hidden_state
                stop = start + out.shape[0]
                features[start:stop] = out.float().cpu().numpy()
                mask[start:stop] = batch["attention_mask"].bool().cpu().numpy()
        return TextFeatures(features, mask)
