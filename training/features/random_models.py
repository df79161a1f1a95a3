"""Randomly initialised feature models, saved with ``save_pretrained`` (no download).

For demos, dry runs and tests on a machine without a model hub: the export loads them
through exactly the path it loads pretrained ones (a local directory). Two sizes:

- ``tiny``: narrow, shallow models (text and audio 128-d, vision 128-d) that an export of a
  few hundred utterances runs through in minutes on a laptop CPU;
- ``base``: the shapes of the paper's extractors (BERT-base 768, wav2vec2-base 768,
  ResNet-18 512), for timing and for shape checks.

Random weights carry no knowledge of emotion: features from them keep what the input itself
carries (which words, what the voice and the face do), nothing more. Seeded: the same call
builds the same weights.
"""

from __future__ import annotations

from pathlib import Path

from training.features.sources import RANDOM_MARKER, RANDOM_NOTE

ROLES = ("text", "audio", "vision")
SIZES = ("tiny", "base")


def chinese_vocab() -> list[str]:
    """A vocabulary shaped like Chinese BERT's: special tokens, ASCII, common punctuation and
    every CJK unified ideograph U+4E00..U+9FA5 (one token per character)."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    ascii_chars = [chr(c) for c in range(33, 127)]
    punctuation = list("，。！？、；：“”‘’（）《》…—·")
    ideographs = [chr(c) for c in range(0x4E00, 0x9FA6)]
    return specials + ascii_chars + punctuation + ideographs


def random_model_paths(directory: Path, size: str = "tiny") -> dict[str, Path]:
    """Where ``save_random_models(directory, size)`` saves each role's model."""
    return {role: Path(directory) / f"random-{size}-{role}" for role in ROLES}


def save_random_models(directory: Path, size: str = "tiny", seed: int = 0) -> dict[str, str]:
    """Random BERT, wav2vec 2.0 and ResNet under ``directory/random-<size>-<role>``, each
    saved once (an existing directory is reused). Returns the path per role."""
    import torch
    from transformers import (
        BertConfig,
        BertModel,
        BertTokenizerFast,
        ConvNextImageProcessorPil,
        ResNetConfig,
        ResNetModel,
        Wav2Vec2Config,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2Model,
    )

    from training.features.vision import IMAGENET_MEAN, IMAGENET_STD

    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}.")
    tiny = size == "tiny"
    directory = Path(directory)
    paths = random_model_paths(directory, size)
    vocab = chinese_vocab()
    if not _has_full_vocabulary(paths["text"], len(vocab)):
        # Also rewrites tokenizers saved before this was fixed: they held only the 5 special
        # tokens, so every character became [UNK] and the text carried nothing.
        paths["text"].mkdir(parents=True, exist_ok=True)
        vocab_file = paths["text"] / "vocab.txt"
        vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
        BertTokenizerFast(vocab=str(vocab_file)).save_pretrained(paths["text"])
    if not (paths["text"] / "config.json").is_file():
        torch.manual_seed(seed)
        shape = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=256) if tiny else {}  # fmt: skip
        BertModel(BertConfig(vocab_size=len(vocab), **shape)).save_pretrained(paths["text"])
    if not (paths["audio"] / "config.json").is_file():
        torch.manual_seed(seed + 1)
        # The standard convolution front end (25 ms receptive field, 20 ms hop) at any size.
        shape = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=256, conv_dim=(64,) * 7, num_conv_pos_embeddings=16,
                     num_conv_pos_embedding_groups=4) if tiny else {}  # fmt: skip
        Wav2Vec2Model(Wav2Vec2Config(**shape)).save_pretrained(paths["audio"])
        Wav2Vec2FeatureExtractor(
            sampling_rate=16000, do_normalize=True, return_attention_mask=False
        ).save_pretrained(paths["audio"])
    if not (paths["vision"] / "config.json").is_file():
        torch.manual_seed(seed + 2)
        if tiny:
            config = ResNetConfig(layer_type="basic", depths=[1, 1, 1, 1],
                                  hidden_sizes=[16, 32, 64, 128], embedding_size=16)  # fmt: skip
        else:  # ResNet-18: 512-d pooled
            config = ResNetConfig(
                layer_type="basic", depths=[2, 2, 2, 2], hidden_sizes=[64, 128, 256, 512]
            )
        ResNetModel(config).save_pretrained(paths["vision"])
        # The PIL processor: the default one wants torchvision, and says to install it (which
        # would pull another torch). Only its mean, std and rescale are read (vision.py).
        ConvNextImageProcessorPil(
            image_mean=list(IMAGENET_MEAN), image_std=list(IMAGENET_STD)
        ).save_pretrained(paths["vision"])
    for path in paths.values():  # says so in the datasheet and the export form
        marker = path / RANDOM_MARKER
        if not marker.is_file():
            marker.write_text(f"{RANDOM_NOTE}: features from these carry no knowledge.\n")
    return {role: str(path) for role, path in paths.items()}


def _has_full_vocabulary(path: Path, size: int) -> bool:
    if not (path / "tokenizer.json").is_file():
        return False
    from transformers import AutoTokenizer

    return len(AutoTokenizer.from_pretrained(path)) == size
