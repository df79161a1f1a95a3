"""Tiny randomly initialised models, saved with save_pretrained and loaded back by path."""

from __future__ import annotations

from pathlib import Path

import pytest
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

WORDS = "我你他她们是的了不在有这个人说好想要去来看会天今明就都很没吗呢吧啊"
EMOTIONS = "高兴悲伤生气害怕惊讶厌恶平静"
CHINESE = WORDS + EMOTIONS
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *CHINESE, "，", "。", "！", "？", "hello"]


def save_tiny_bert(directory: Path, seed: int = 0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab=str(vocab_file)).save_pretrained(directory)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(directory)
    return directory


def save_tiny_wav2vec2(directory: Path, norm: str, processor: bool) -> Path:
    """Standard conv kernels/strides (25 ms receptive field, 20 ms hop), tiny widths."""
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm=norm,
        do_stable_layer_norm=norm == "layer",
    )
    Wav2Vec2Model(config).save_pretrained(directory)
    if processor:
        Wav2Vec2FeatureExtractor(
            sampling_rate=16000, do_normalize=True, return_attention_mask=norm == "layer"
        ).save_pretrained(directory)
    return directory


def save_resnet(directory: Path, config: ResNetConfig, processor: bool = False) -> Path:
    torch.manual_seed(0)
    ResNetModel(config).save_pretrained(directory)
    if processor:
        ConvNextImageProcessorPil(
            image_mean=[0.5, 0.5, 0.5], image_std=[0.25, 0.25, 0.25]
        ).save_pretrained(directory)
    return directory


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """The project-wide fixture of this name needs Django settings; feature tests need neither."""


@pytest.fixture(scope="session")
def bert_path(tmp_path_factory) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="session")
def wav2vec2_layer_path(tmp_path_factory) -> Path:
    """Layer-norm front end (supports attention masks) with a saved feature extractor."""
    return save_tiny_wav2vec2(tmp_path_factory.mktemp("w2v_layer"), "layer", processor=True)


@pytest.fixture(scope="session")
def wav2vec2_group_path(tmp_path_factory) -> Path:
    """Group-norm front end (like wav2vec2-base) with no feature extractor saved."""
    return save_tiny_wav2vec2(tmp_path_factory.mktemp("w2v_group"), "group", processor=False)


@pytest.fixture(scope="session")
def resnet18_path(tmp_path_factory) -> Path:
    """The real ResNet-18 shape (basic blocks, 512-d pooled output), random weights."""
    config = ResNetConfig(
        layer_type="basic",
        depths=[2, 2, 2, 2],
        hidden_sizes=[64, 128, 256, 512],
        embedding_size=64,
    )
    return save_resnet(tmp_path_factory.mktemp("resnet18"), config)


@pytest.fixture(scope="session")
def tiny_resnet_path(tmp_path_factory) -> Path:
    config = ResNetConfig(
        layer_type="basic", depths=[1, 1, 1, 1], hidden_sizes=[8, 8, 16, 16], embedding_size=8
    )
    return save_resnet(tmp_path_factory.mktemp("resnet_tiny"), config, processor=True)
