"""LFMIM: layer-wise fusion with modality independence (Sun et al., ACL 2023, §4; SPEC §5).

Three uni-modal transformers (t, a, v) each see only their own modality and predict their own
label. A multi-modal "hub" transformer starts from learnable FEX token(s); the input of its
layer l is [FEX^l; Ż_t^l; Ż_a^l; Ż_v^l] with Ż_u^l = α_u^l Z_u^l + ᾱ_u^l Z̄_u^l, where Z_u^l is
the input of uni-modal layer l and Z̄_u^l the hub's own output slot for u (Z̄_u^1 = 0).
Information flows only uni-modal -> multi-modal in the forward pass.

One config class covers both presets: `paper` (§4, §5.1.2: d=128, 8 heads, 4 layers, 1-D conv
inputs) and `released` (the LFMIM0723v2 code: d=1024, 16 heads, linear inputs, learnable
tokens, extra output LayerNorms, six shared fusion scalars, two vision blocks per layer,
weighted-sum pooling, m head on concat[t, a, v, m]). Unlike the released code, padding masks are
honoured everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .common import (
    RELEASED_FEATURE_DIMS,
    RELEASED_SEQ_LENS,
    UNI_MODALITIES,
    EmotionModel,
    ModalityInputs,
    ModelConfig,
)
from .dropout import Dropout
from .layers import (
    FeatureProjection,
    MeanPool,
    MLPHead,
    TransformerBlock,
    WeightedSumPool,
    sinusoidal_positions,
)
from .names import ALL_HEADS

STREAMS: tuple[str, ...] = ("t", "a", "v", "m")


@dataclass(frozen=True)
class LFMIMConfig(ModelConfig):
    """LFMIM hyper-parameters; the defaults are the `paper` preset."""

    model_type: ClassVar[str] = "lfmim"

    d_model: int = 128
    num_heads: int = 8
    num_layers: int = 4
    ffn_mult: int = 4
    activation: str = "relu"
    attn_dropout: float = 0.1
    ffn_dropout: float = 0.1
    residual_dropout: float = 0.1
    embed_dropout: float = 0.1
    block_output_norm: bool = False  # released: LayerNorm on each sub-layer's output
    projection: str = "conv"  # "conv" (paper) | "linear" (released)
    conv_kernel_size: int = 1
    embedding: str = "plain"  # "plain": proj + PE | "released": ×√d, LN, +PE, dropout, LN
    uni_tokens: int = 0  # learnable tokens prepended to each uni-modal stream (released: 1)
    fex_tokens: int = 1  # learnable tokens starting the hub stream (released: 4)
    hub_order: tuple[str, ...] = ("t", "a", "v")  # slot order in the hub (released: t, v, a)
    blocks_per_layer: dict[str, int] = field(
        default_factory=lambda: {"t": 1, "a": 1, "v": 1, "m": 1}
    )
    fusion: str = "per_layer"  # "per_layer": α_u^l, ᾱ_u^l | "shared": six scalars (released)
    final_norm: bool = True
    pooling: str = "mean"  # "mean" over real positions | "weighted" learnable sum (released)
    uni_head_hidden: tuple[int, ...] = (128,)
    m_head_hidden: tuple[int, ...] = (128,)
    m_head_input: str = "m"  # "m": pooled hub only | "concat": [t, a, v, m] (released)
    head_dropout: float = 0.1
    init: str = "default"  # "default" (PyTorch) | "released" (the released code's normal init)
    # Which label each head is trained on; read by the trainer. LFMIM-ML maps every head to m.
    label_targets: dict[str, str] = field(default_factory=lambda: {h: h for h in ALL_HEADS})

    def __post_init__(self) -> None:
        super().__post_init__()
        choices = {
            "projection": ("conv", "linear"),
            "embedding": ("plain", "released"),
            "fusion": ("per_layer", "shared"),
            "pooling": ("mean", "weighted"),
            "m_head_input": ("m", "concat"),
            "init": ("default", "released"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {getattr(self, name)!r}.")
        if self.d_model % self.num_heads:
            raise ValueError(
                f"d_model={self.d_model} must be divisible by num_heads={self.num_heads}."
            )
        if sorted(self.hub_order) != sorted(UNI_MODALITIES):
            raise ValueError(f"hub_order must order t, a, v; got {self.hub_order}.")
        if set(self.blocks_per_layer) != set(STREAMS):
            raise ValueError("blocks_per_layer needs exactly the keys t, a, v, m.")
        if set(self.label_targets) != set(ALL_HEADS) or not set(self.label_targets.values()) <= set(
            ALL_HEADS
        ):
            raise ValueError("label_targets must map each of t, a, v, m to one of t, a, v, m.")
        if self.num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, not {self.num_layers}.")
        if self.fex_tokens < 1:
            raise ValueError("the hub needs at least one FEX token (fex_tokens >= 1).")


def lfmim_paper_config(**overrides: Any) -> LFMIMConfig:
    """The paper's LFMIM (§4, §5.1.2): d=128, 8 heads, 4 layers, paper feature shapes."""
    return LFMIMConfig(**overrides)


def lfmim_released_config(**overrides: Any) -> LFMIMConfig:
    """The released code's architecture (SPEC §5), with padding masks honoured."""
    values: dict[str, Any] = dict(
        feature_dims=dict(RELEASED_FEATURE_DIMS),
        seq_lens=dict(RELEASED_SEQ_LENS),
        d_model=1024,
        num_heads=16,
        num_layers=4,
        ffn_mult=4,
        activation="relu",
        attn_dropout=0.2,
        ffn_dropout=0.1,
        residual_dropout=0.0,
        embed_dropout=0.25,
        block_output_norm=True,
        projection="linear",
        embedding="released",
        uni_tokens=1,
        fex_tokens=4,
        hub_order=("t", "v", "a"),
        blocks_per_layer={"t": 1, "a": 1, "v": 2, "m": 1},
        fusion="shared",
        final_norm=True,
        pooling="weighted",
        uni_head_hidden=(512, 32),
        m_head_hidden=(2048, 128, 64),
        m_head_input="concat",
        head_dropout=0.0,
        init="released",
    )
    values.update(overrides)
    return LFMIMConfig(**values)


LFMIM_PRESETS = {"paper": lfmim_paper_config, "released": lfmim_released_config}


class StreamEmbedding(nn.Module):
    """Features (B, T, D_in) -> stream input (B, n_tokens + T, d) with its (B, n_tokens + T) mask.

    With `in_dim=None` the stream is made of learnable tokens only (the hub's FEX tokens).
    `style="plain"`: projection, + sinusoidal positions, dropout.
    `style="released"`: projection, tokens prepended, ×√d, LayerNorm, + positions (from 1),
    dropout, LayerNorm.
    """

    def __init__(
        self,
        d_model: int,
        *,
        in_dim: int | None,
        num_tokens: int,
        style: str,
        dropout: float,
        add_positions: bool = True,
        projection: str = "conv",
        kernel_size: int = 1,
    ):
        super().__init__()
        self.d_model, self.style, self.add_positions = d_model, style, add_positions
        self.proj = (
            FeatureProjection(in_dim, d_model, kind=projection, kernel_size=kernel_size)
            if in_dim is not None
            else None
        )
        self.tokens = (
            nn.Parameter(torch.randn(num_tokens, d_model) * d_model**-0.5) if num_tokens else None
        )
        self.norm_scaled = nn.LayerNorm(d_model) if style == "released" else None
        self.norm_out = nn.LayerNorm(d_model) if style == "released" else None
        self.dropout = Dropout(dropout)

    def forward(
        self, x: Tensor | None, mask: Tensor | None, batch_size: int
    ) -> tuple[Tensor, Tensor]:
        parts: list[Tensor] = []
        masks: list[Tensor] = []
        if self.tokens is not None:
            n = self.tokens.shape[0]
            parts.append(self.tokens.unsqueeze(0).expand(batch_size, -1, -1))
            masks.append(torch.ones(batch_size, n, dtype=torch.bool, device=self.tokens.device))
        if self.proj is not None:
            assert x is not None and mask is not None
            parts.append(self.proj(x, mask))
            masks.append(mask)
        z, full_mask = torch.cat(parts, dim=1), torch.cat(masks, dim=1)
        if self.norm_scaled is not None:
            z = self.norm_scaled(z * math.sqrt(self.d_model))
        if self.add_positions:
            z = z + sinusoidal_positions(z.shape[1], self.d_model, device=z.device, dtype=z.dtype)
        z = self.dropout(z)
        if self.norm_out is not None:
            z = self.norm_out(z)
        return z, full_mask


class LayerwiseFusion(nn.Module):
    """Ż_u^l: what enters hub slot k (modality u) at layer l (0-based), from the uni-modal
    stream Z_u^l (B, T, d) and the hub's previous output slot Z̄_u^l (None at layer 0).

    `per_layer` (paper): α_u^l Z_u^l + ᾱ_u^l Z̄_u^l with Z̄_u^1 = 0; scalars start at 1.
    `shared` (released): Z_u^l at layer 0, then slot·p[2k] + uni·p[2k+1], p ~ N(0, 1).
    """

    def __init__(self, style: str, num_layers: int, num_slots: int = 3):
        super().__init__()
        self.style = style
        if style == "per_layer":
            self.uni_weight = nn.Parameter(torch.ones(num_layers, num_slots))
            self.hub_weight = nn.Parameter(torch.ones(num_layers, num_slots))
        else:
            self.p = nn.Parameter(torch.randn(2 * num_slots))

    def forward(self, layer: int, slot: int, uni: Tensor, hub: Tensor | None) -> Tensor:
        if self.style == "per_layer":
            if hub is None:  # ᾱ_u^1 multiplies Z̄_u^1 = 0: skip the two passes over zeros,
                # but keep ᾱ_u^1 in the graph (gradient 0, as written) so DDP sees it used.
                weight = self.uni_weight[layer, slot] + 0.0 * self.hub_weight[layer, slot]
                return weight * uni
            return self.uni_weight[layer, slot] * uni + self.hub_weight[layer, slot] * hub
        if hub is None:
            return uni
        return hub * self.p[2 * slot] + uni * self.p[2 * slot + 1]


class LFMIM(EmotionModel):
    """LFMIM: ModalityInputs -> {"t", "a", "v", "m": logits (B, num_classes)}."""

    config_class = LFMIMConfig
    HEADS = ALL_HEADS
    config: LFMIMConfig

    def __init__(self, config: LFMIMConfig):
        super().__init__()
        self.config = c = config
        d = c.d_model
        self.embed = nn.ModuleDict(
            {
                u: StreamEmbedding(
                    d,
                    in_dim=c.feature_dims[u],
                    num_tokens=c.uni_tokens,
                    style=c.embedding,
                    dropout=c.embed_dropout,
                    projection=c.projection,
                    kernel_size=c.conv_kernel_size,
                )
                for u in UNI_MODALITIES
            }
        )
        # The paper's FEX token carries no position; the released hub tokens get positions 1..4.
        self.embed["m"] = StreamEmbedding(
            d,
            in_dim=None,
            num_tokens=c.fex_tokens,
            style=c.embedding,
            dropout=c.embed_dropout,
            add_positions=c.embedding == "released",
        )
        self.blocks = nn.ModuleDict(
            {
                s: nn.ModuleList(
                    nn.ModuleList(self._block() for _ in range(c.blocks_per_layer[s]))
                    for _ in range(c.num_layers)
                )
                for s in STREAMS
            }
        )
        self.fusion = LayerwiseFusion(c.fusion, c.num_layers)
        self.final_norm = nn.ModuleDict(
            {s: nn.LayerNorm(d) if c.final_norm else nn.Identity() for s in STREAMS}
        )
        if c.pooling == "weighted":
            lengths = {u: c.seq_lens[u] + c.uni_tokens for u in UNI_MODALITIES}
            lengths["m"] = c.fex_tokens + sum(lengths.values())
            self.pool = nn.ModuleDict({s: WeightedSumPool(lengths[s]) for s in STREAMS})
        else:
            self.pool = nn.ModuleDict({s: MeanPool() for s in STREAMS})
        m_in = 4 * d if c.m_head_input == "concat" else d
        self.classifiers = nn.ModuleDict(
            {
                u: MLPHead(d, c.uni_head_hidden, c.num_classes, dropout=c.head_dropout)
                for u in UNI_MODALITIES
            }
        )
        self.classifiers["m"] = MLPHead(
            m_in, c.m_head_hidden, c.num_classes, dropout=c.head_dropout
        )
        if c.init == "released":
            self._init_released()

    @property
    def label_targets(self) -> dict[str, str]:
        """Head -> label it is trained on (identity for LFMIM, all "m" for LFMIM-ML)."""
        return dict(self.config.label_targets)

    def _block(self, cross: bool = False) -> TransformerBlock:
        c = self.config
        return TransformerBlock(
            c.d_model,
            c.num_heads,
            ffn_mult=c.ffn_mult,
            attn_dropout=c.attn_dropout,
            ffn_dropout=c.ffn_dropout,
            residual_dropout=c.residual_dropout,
            activation=c.activation,
            output_norm=c.block_output_norm,
            cross=cross,
        )

    def _init_released(self) -> None:
        """The released code's `initialize_parameters`: normal init of attention and MLP weights,
        output projections scaled by (2 × blocks in the stream)^-1/2."""
        d = self.config.d_model
        for s in STREAMS:
            blocks = [b for layer in self.blocks[s] for b in layer]
            attn_std, fc_std = d**-0.5, (2 * d) ** -0.5
            proj_std = d**-0.5 * (2 * len(blocks)) ** -0.5
            for b in blocks:
                nn.init.normal_(b.attn.in_proj_weight, std=attn_std)
                nn.init.normal_(b.attn.out_proj.weight, std=proj_std)
                nn.init.normal_(b.ffn[0].weight, std=fc_std)
                nn.init.normal_(b.ffn[3].weight, std=proj_std)

    def _feedback(
        self,
        layer: int,
        streams: dict[str, Tensor],
        masks: dict[str, Tensor],
        hub: Tensor,
        hub_mask: Tensor,
    ) -> dict[str, Tensor]:
        """What the hub sends back to the uni-modal streams after a layer: nothing, in LFMIM."""
        return streams

    def forward(self, inputs: ModalityInputs) -> dict[str, Tensor]:
        c = self.config
        inputs.check(c.feature_dims)
        batch = inputs.batch_size
        streams: dict[str, Tensor] = {}
        masks: dict[str, Tensor] = {}
        for u in UNI_MODALITIES:  # Z_u^1: (B, tokens + T_u, d)
            streams[u], masks[u] = self.embed[u](inputs.features(u), inputs.mask(u), batch)
        fex, fex_mask = self.embed["m"](None, None, batch)  # (B, fex_tokens, d)
        hub_mask = torch.cat([fex_mask, *(masks[u] for u in c.hub_order)], dim=1)
        slots: dict[str, Tensor | None] = dict.fromkeys(c.hub_order)
        hub = fex
        for layer in range(c.num_layers):
            fused = [self.fusion(layer, k, streams[u], slots[u]) for k, u in enumerate(c.hub_order)]
            hub = torch.cat([fex, *fused], dim=1)  # Z_m^l = [FEX^l; Ż_t^l; Ż_a^l; Ż_v^l]
            for u in UNI_MODALITIES:
                for block in self.blocks[u][layer]:
                    streams[u] = block(streams[u], masks[u])
            for block in self.blocks["m"][layer]:
                hub = block(hub, hub_mask)
            fex, slots = self._split_hub(hub, fex.shape[1], streams)
            streams = self._feedback(layer, streams, masks, hub, hub_mask)

        pooled = {u: self.pool[u](self.final_norm[u](streams[u]), masks[u]) for u in streams}
        pooled["m"] = self.pool["m"](self.final_norm["m"](hub), hub_mask)  # (B, d)
        logits = {u: self.classifiers[u](pooled[u]) for u in UNI_MODALITIES}
        if c.m_head_input == "concat":
            m_in = torch.cat([pooled[s] for s in STREAMS], dim=-1)  # (B, 4d)
        else:
            m_in = pooled["m"]
        logits["m"] = self.classifiers["m"](m_in)
        return {h: logits[h] for h in ALL_HEADS}

    def _split_hub(
        self, hub: Tensor, num_tokens: int, streams: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor | None]]:
        """Hub output (B, n_fex + Σ T_u, d) -> FEX^{l+1} and the slots Z̄_u^{l+1}."""
        fex, start = hub[:, :num_tokens], num_tokens
        slots: dict[str, Tensor | None] = {}
        for u in self.config.hub_order:
            length = streams[u].shape[1]
            slots[u] = hub[:, start : start + length]
            start += length
        return fex, slots
