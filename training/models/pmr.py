"""PMR, progressive modality reinforcement (Lv et al., CVPR 2021), as the LFMIM paper compares it.

The same uni-modal streams and multi-modal message hub as LFMIM's paper preset, trained with
the same four labels, but the information flows both ways: after each layer every uni-modal
stream attends to the hub's output (a cross-attention "reinforcement" block, query = the
stream, keys/values = the whole hub sequence), so from layer 2 on the uni-modal heads see the
other modalities. Per layer: 3 uni-modal + 1 hub + 3 reinforcement blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from .common import UNI_MODALITIES
from .lfmim import LFMIM, LFMIMConfig


@dataclass(frozen=True)
class PMRConfig(LFMIMConfig):
    """PMR hyper-parameters; every LFMIM field applies, defaults are LFMIM's paper preset."""

    model_type: ClassVar[str] = "pmr"


def pmr_paper_config(**overrides: Any) -> PMRConfig:
    """PMR sized like LFMIM's paper preset (d=128, 8 heads, 4 layers)."""
    return PMRConfig(**overrides)


PMR_PRESETS = {"paper": pmr_paper_config}


class PMR(LFMIM):
    """PMR: ModalityInputs -> {"t", "a", "v", "m": logits (B, num_classes)}."""

    config_class = PMRConfig

    def __init__(self, config: PMRConfig):
        super().__init__(config)
        self.reinforce = nn.ModuleDict(
            {
                u: nn.ModuleList(self._block(cross=True) for _ in range(config.num_layers))
                for u in UNI_MODALITIES
            }
        )

    def _feedback(
        self,
        layer: int,
        streams: dict[str, Tensor],
        masks: dict[str, Tensor],
        hub: Tensor,
        hub_mask: Tensor,
    ) -> dict[str, Tensor]:
        """Each stream (B, T_u, d) attends to the hub output (B, S, d): hub -> uni-modal flow."""
        return {
            u: self.reinforce[u][layer](streams[u], masks[u], memory=hub, memory_mask=hub_mask)
            for u in UNI_MODALITIES
        }
