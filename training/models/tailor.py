"""TAILOR: versatile multi-modal learning for multi-label emotion recognition (SPEC §8).

Per modality an encoder (input LayerNorm, linear map to d, positions, transformer layers:
text 6, audio and vision 4), then a private extractor of its own and one common extractor
shared by all three. Adversarial refinement: a 3-way modality discriminator learns to tell
the modality of private features, and of common features through gradient reversal, so the
common extractor learns to hide the modality; an orthogonality loss keeps common and private
apart (and the private parts of different modalities). A BERT-like cross-modal encoder fuses
step by step: audio with vision, then text with that, then the result with the common
sequence. A label-guided decoder gives every label a learned embedding that attends to the
fused sequence; one logit per label. Output: the `m` head, (B, C) logits; `auxiliary_losses`
adds the adversarial, orthogonality and common-classifier terms (weights of the released
code as the preset). Design note and differences from the released code: README.md here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .common import (
    UNI_MODALITIES,
    EmotionModel,
    LabelLoss,
    ModalityInputs,
    ModelConfig,
    ModelOutput,
    attention_mask,
    masked_mean,
    zero_padding,
)
from .layers import TransformerBlock, sinusoidal_positions

# CMU-MOSEI aligned, as the released TAILOR code reads it (SPEC §8).
MOSEI_FEATURE_DIMS: dict[str, int] = {"t": 300, "a": 74, "v": 35}
MOSEI_SEQ_LENS: dict[str, int] = {"t": 60, "a": 60, "v": 60}
MOSEI_EMOTIONS: tuple[str, ...] = ("happy", "sad", "anger", "surprise", "disgust", "fear")
MODALITY_ID: dict[str, int] = {u: i for i, u in enumerate(UNI_MODALITIES)}  # discriminator classes
COMMON_FUSIONS = ("auto", "sum", "concat")


@dataclass(frozen=True)
class TAILORConfig(ModelConfig):
    """TAILOR hyper-parameters; the defaults are the `released` preset (CMU-MOSEI aligned)."""

    model_type: ClassVar[str] = "tailor"

    num_classes: int = len(MOSEI_EMOTIONS)
    feature_dims: dict[str, int] = field(default_factory=lambda: dict(MOSEI_FEATURE_DIMS))
    seq_lens: dict[str, int] = field(default_factory=lambda: dict(MOSEI_SEQ_LENS))
    d_model: int = 256
    num_heads: int = 8
    ffn_mult: int = 1  # released: intermediate size 256 = d
    activation: str = "gelu"
    dropout: float = 0.3  # attention, feed-forward and embedding dropout (released 0.3)
    encoder_layers: dict[str, int] = field(default_factory=lambda: {"t": 6, "a": 4, "v": 4})
    cross_layers: int = 2  # per fusion stage
    decoder_layers: int = 1
    private_dropout: float = 0.1
    common_dropout: float = 0.3
    discriminator_dropout: float = 0.1
    # How the three common sequences become one: "sum" per position (aligned data, the
    # released code), "concat" along time (any lengths), "auto": sum when lengths are equal.
    common_fusion: str = "auto"
    adversarial_weight: float = 0.01  # × (adversarial common + adversarial private)
    orthogonality_weight: float = 5e-6
    common_weight: float = 0.5  # × loss of the common classifier
    private_orthogonality: bool = True  # also keep private parts of modalities apart
    reversal_scale: float = 1.0  # gradient reversal: backward multiplies by -scale

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.common_fusion not in COMMON_FUSIONS:
            raise ValueError(
                f"common_fusion must be one of {', '.join(COMMON_FUSIONS)}, "
                f"not {self.common_fusion!r}."
            )
        if sorted(self.encoder_layers) != sorted(UNI_MODALITIES):
            raise ValueError("encoder_layers needs exactly the keys t, a, v.")
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model {self.d_model} must be divisible by num_heads.")


def tailor_released_config(**overrides: Any) -> TAILORConfig:
    """The released code's shapes: hidden 256, 8 heads, text 6 / audio 4 / vision 4 layers,
    two layers per fusion stage, one decoder layer, 6 labels, aligned 60-step inputs."""
    return TAILORConfig(**overrides)


class GradientReversal(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by -scale (Ganin & Lempitsky)."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        return -ctx.scale * grad, None


def reverse_gradient(x: Tensor, scale: float = 1.0) -> Tensor:
    return GradientReversal.apply(x, scale)


def orthogonality_loss(first: Tensor, second: Tensor) -> Tensor:
    """Mean over the batch of ‖F Sᵀ‖²_F for (B, T1, d) and (B, T2, d): zero exactly when every
    position of one is orthogonal to every position of the other (zero padded positions)."""
    return torch.bmm(first, second.transpose(1, 2)).pow(2).sum(dim=(1, 2)).mean()


def _blocks(c: TAILORConfig, count: int, *, cross: bool = False) -> nn.ModuleList:
    return nn.ModuleList(
        TransformerBlock(
            c.d_model,
            c.num_heads,
            ffn_mult=c.ffn_mult,
            attn_dropout=c.dropout,
            ffn_dropout=c.dropout,
            residual_dropout=c.dropout,
            activation=c.activation,
            cross=cross,
        )
        for _ in range(count)
    )


class ModalityEncoder(nn.Module):
    """(B, T, D_u) -> (B, T, d): LayerNorm of the raw features, linear map, sinusoidal
    positions, LayerNorm, dropout, transformer layers, final LayerNorm; padding zeroed."""

    def __init__(self, c: TAILORConfig, in_dim: int, layers: int):
        super().__init__()
        self.input_norm = nn.LayerNorm(in_dim)
        self.proj = nn.Linear(in_dim, c.d_model)
        self.embed_norm = nn.LayerNorm(c.d_model)
        self.dropout = nn.Dropout(c.dropout)
        self.blocks = _blocks(c, layers)
        self.norm = nn.LayerNorm(c.d_model)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = self.proj(self.input_norm(zero_padding(x, mask)))
        h = h + sinusoidal_positions(h.shape[1], h.shape[2], device=h.device, dtype=h.dtype)
        h = zero_padding(self.dropout(self.embed_norm(h)), mask)
        for block in self.blocks:
            h = block(h, mask)
        return zero_padding(self.norm(h), mask)


class FusionStage(nn.Module):
    """One step of the cross-modal encoder: [first; second] with a learned segment embedding
    each, through self-attention layers over both -> (B, T1 + T2, d) and its mask."""

    def __init__(self, c: TAILORConfig):
        super().__init__()
        self.segment = nn.Embedding(2, c.d_model)
        self.blocks = _blocks(c, c.cross_layers)
        self.norm = nn.LayerNorm(c.d_model)

    def forward(self, first: Tensor, first_mask: Tensor, second: Tensor, second_mask: Tensor):
        x = torch.cat([first + self.segment.weight[0], second + self.segment.weight[1]], dim=1)
        mask = torch.cat([first_mask, second_mask], dim=1)
        x = zero_padding(x, mask)
        for block in self.blocks:
            x = block(x, mask)
        return zero_padding(self.norm(x), mask), mask


class LabelDecoderLayer(nn.Module):
    """Label queries (B, C, d): self-attention among labels, attention to the fused sequence,
    feed-forward (pre-LayerNorm, residuals)."""

    def __init__(self, c: TAILORConfig):
        super().__init__()
        d = c.d_model
        self.self_norm, self.cross_norm, self.memory_norm = (nn.LayerNorm(d) for _ in range(3))
        self.self_attn = nn.MultiheadAttention(d, c.num_heads, dropout=c.dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d, c.num_heads, dropout=c.dropout, batch_first=True)
        self.ffn_norm = nn.LayerNorm(d)
        self.ffn = nn.Sequential(
            nn.Linear(d, c.ffn_mult * d),
            nn.GELU() if c.activation == "gelu" else nn.ReLU(),
            nn.Dropout(c.dropout),
            nn.Linear(c.ffn_mult * d, d),
        )
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, labels: Tensor, memory: Tensor, memory_mask: Tensor) -> Tensor:
        h = self.self_norm(labels)
        labels = labels + self.dropout(self.self_attn(h, h, h, need_weights=False)[0])
        h, kv = self.cross_norm(labels), self.memory_norm(memory)
        allowed = attention_mask(memory_mask)  # (B, 1, 1, S) True = attend, or None
        ignore = None if allowed is None else ~allowed[:, 0, 0, :]
        attended = self.cross_attn(h, kv, kv, key_padding_mask=ignore, need_weights=False)[0]
        labels = labels + self.dropout(attended)
        return labels + self.dropout(self.ffn(self.ffn_norm(labels)))


def _extractor(d: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d, d), nn.Dropout(dropout), nn.Tanh())


class TAILOR(EmotionModel):
    """TAILOR: ModalityInputs -> ModelOutput({"m": logits (B, C)}, extras for its losses)."""

    config_class = TAILORConfig
    config: TAILORConfig
    AUXILIARY_TERMS: ClassVar[tuple[str, ...]] = ("adversarial", "orthogonality", "common")

    def __init__(self, config: TAILORConfig):
        super().__init__()
        self.config = c = config
        d = c.d_model
        self.encoders = nn.ModuleDict(
            {u: ModalityEncoder(c, c.feature_dims[u], c.encoder_layers[u]) for u in UNI_MODALITIES}
        )
        self.private = nn.ModuleDict({u: _extractor(d, c.private_dropout) for u in UNI_MODALITIES})
        self.common = _extractor(d, c.common_dropout)  # one, shared by the three modalities
        self.discriminator = nn.Sequential(
            nn.Linear(d, d // 2),
            nn.Dropout(c.discriminator_dropout),
            nn.ReLU(),
            nn.Linear(d // 2, len(UNI_MODALITIES)),
        )
        self.common_classifier = nn.Linear(d, c.num_classes)
        self.fuse_audio_vision = FusionStage(c)
        self.fuse_text = FusionStage(c)
        self.fuse_common = FusionStage(c)
        self.label_embedding = nn.Embedding(c.num_classes, d)
        self.label_norm = nn.LayerNorm(d)
        self.label_dropout = nn.Dropout(c.dropout)
        self.decoder = nn.ModuleList(LabelDecoderLayer(c) for _ in range(c.decoder_layers))
        self.decoder_norm = nn.LayerNorm(d)
        self.classifier = nn.Linear(d, 1)  # shared by the labels: one logit per label query

    @property
    def auxiliary_terms(self) -> tuple[str, ...]:
        return self.AUXILIARY_TERMS

    def _common_sequence(
        self, common: dict[str, Tensor], masks: dict[str, Tensor]
    ) -> tuple[Tensor, Tensor]:
        """The three common sequences as one: summed per position or concatenated in time."""
        lengths = {common[u].shape[1] for u in UNI_MODALITIES}
        fusion = self.config.common_fusion
        if fusion == "auto":
            fusion = "sum" if len(lengths) == 1 else "concat"
        if fusion == "sum":
            if len(lengths) != 1:
                raise ValueError(
                    "common_fusion='sum' needs aligned modalities (equal lengths); got lengths "
                    f"{sorted(lengths)}. Use common_fusion='concat' or 'auto'."
                )
            total = sum(common[u] for u in UNI_MODALITIES)
            mask = masks["t"] | masks["a"] | masks["v"]
            return total, mask
        order = ("t", "a", "v")
        return (
            torch.cat([common[u] for u in order], dim=1),
            torch.cat([masks[u] for u in order], dim=1),
        )

    def forward(self, inputs: ModalityInputs) -> ModelOutput:
        c = self.config
        inputs.check(c.feature_dims)
        masks = {u: inputs.mask(u) for u in UNI_MODALITIES}
        encoded = {u: self.encoders[u](inputs.features(u), masks[u]) for u in UNI_MODALITIES}
        private = {u: zero_padding(self.private[u](encoded[u]), masks[u]) for u in encoded}
        common = {u: zero_padding(self.common(encoded[u]), masks[u]) for u in encoded}
        common_all, common_mask = self._common_sequence(common, masks)

        av, av_mask = self.fuse_audio_vision(private["a"], masks["a"], private["v"], masks["v"])
        tav, tav_mask = self.fuse_text(private["t"], masks["t"], av, av_mask)
        fused, fused_mask = self.fuse_common(tav, tav_mask, common_all, common_mask)

        batch = inputs.batch_size
        queries = self.label_embedding.weight.unsqueeze(0).expand(batch, -1, -1)
        h = self.label_dropout(self.label_norm(queries))
        for layer in self.decoder:
            h = layer(h, fused, fused_mask)
        logits = self.classifier(self.decoder_norm(h)).squeeze(-1)  # (B, C)

        extras: dict[str, Any] = {
            "private": private,
            "common": common,
            "masks": masks,
            "common_logits": self.common_classifier(masked_mean(common_all, common_mask)),
            # Discriminator on private features (learn the modality) and, through gradient
            # reversal, on common features (the common extractor learns to hide it).
            "private_modality": {u: self.discriminator(private[u]) for u in UNI_MODALITIES},
            "common_modality": {
                u: self.discriminator(reverse_gradient(common[u], c.reversal_scale))
                for u in UNI_MODALITIES
            },
        }
        return ModelOutput({"m": logits}, extras)

    def adversarial_losses(self, extras: dict[str, Any]) -> tuple[Tensor, Tensor]:
        """(common, private): discriminator cross-entropy over real positions, summed over
        the three modalities."""
        losses = []
        for key in ("common_modality", "private_modality"):
            total = 0.0
            for u in UNI_MODALITIES:
                scores, mask = extras[key][u], extras["masks"][u]
                target = torch.full(mask.shape, MODALITY_ID[u], device=mask.device)
                each = F.cross_entropy(scores.float().transpose(1, 2), target, reduction="none")
                real = mask.float()
                total = total + (each * real).sum() / real.sum().clamp(min=1.0)
            losses.append(total)
        return losses[0], losses[1]

    def orthogonality(self, extras: dict[str, Any]) -> Tensor:
        """Σ_u ‖C_u P_uᵀ‖² (+ Σ_{u<w} ‖P_u P_wᵀ‖² with private_orthogonality), batch mean."""
        private, common = extras["private"], extras["common"]
        total = sum(orthogonality_loss(common[u].float(), private[u].float()) for u in private)
        if self.config.private_orthogonality:
            pairs = [("t", "a"), ("t", "v"), ("a", "v")]
            total = total + sum(
                orthogonality_loss(private[u].float(), private[w].float()) for u, w in pairs
            )
        return total

    def auxiliary_losses(
        self,
        outputs: dict[str, Tensor],
        targets: dict[str, Tensor],
        label_loss: LabelLoss,
    ) -> dict[str, Tensor]:
        """{"adversarial", "orthogonality", "common"}, each already weighted (config)."""
        extras = getattr(outputs, "extras", None)
        if not extras:
            raise ValueError("TAILOR's auxiliary losses need the ModelOutput its forward returns.")
        c = self.config
        adv_common, adv_private = self.adversarial_losses(extras)
        return {
            "adversarial": c.adversarial_weight * (adv_common + adv_private),
            "orthogonality": c.orthogonality_weight * self.orthogonality(extras),
            "common": c.common_weight * label_loss(extras["common_logits"], targets["m"]),
        }
