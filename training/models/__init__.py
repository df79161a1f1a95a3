"""LFMIM, PMR and the baselines of Sun et al. (ACL 2023), in pure PyTorch (no Django).

Every model maps `ModalityInputs` (padded t/a/v feature sequences with bool masks) to
`{head: logits (B, num_classes)}`; `model.heads` names its heads and `model.label_targets`
says which label the trainer supervises each head with. Build by name:

    from training.models import build_model, ModalityInputs
    model = build_model("lfmim", preset="paper")
"""

from .common import (
    ALL_HEADS,
    PAPER_FEATURE_DIMS,
    PAPER_SEQ_LENS,
    RELEASED_FEATURE_DIMS,
    RELEASED_SEQ_LENS,
    UNI_MODALITIES,
    EmotionModel,
    ModalityInputs,
    ModelConfig,
    default_device,
)
from .lfmim import LFMIM, LFMIMConfig, lfmim_paper_config, lfmim_released_config
from .mult import MulT, MulTConfig
from .pmr import PMR, PMRConfig
from .registry import (
    LFMIM_ML_LABEL_TARGETS,
    MODEL_CLASSES,
    MODEL_NAMES,
    build_config,
    build_model,
    count_parameters,
    model_from_dict,
    model_to_dict,
    presets,
)
from .tensor_fusion import LMF, TFN, LMFConfig, TFNConfig
from .transformer_fusion import EFTConfig, EFTransformer, LFTConfig, LFTransformer

__all__ = [
    "ALL_HEADS",
    "EFTConfig",
    "EFTransformer",
    "EmotionModel",
    "LFMIM",
    "LFMIMConfig",
    "LFMIM_ML_LABEL_TARGETS",
    "LFTConfig",
    "LFTransformer",
    "LMF",
    "LMFConfig",
    "MODEL_CLASSES",
    "MODEL_NAMES",
    "ModalityInputs",
    "ModelConfig",
    "MulT",
    "MulTConfig",
    "PAPER_FEATURE_DIMS",
    "PAPER_SEQ_LENS",
    "PMR",
    "PMRConfig",
    "RELEASED_FEATURE_DIMS",
    "RELEASED_SEQ_LENS",
    "TFN",
    "TFNConfig",
    "UNI_MODALITIES",
    "build_config",
    "build_model",
    "count_parameters",
    "default_device",
    "lfmim_paper_config",
    "lfmim_released_config",
    "model_from_dict",
    "model_to_dict",
    "presets",
]
