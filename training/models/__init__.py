"""LFMIM, PMR and the baselines of Sun et al. (ACL 2023), in pure PyTorch (no Django).

Every model maps `ModalityInputs` (padded t/a/v feature sequences with bool masks) to
`{head: logits (B, num_classes)}`; `model.heads` names its heads and `model.label_targets`
says which label the trainer supervises each head with. Build by name:

    from training.models import build_model, ModalityInputs
    model = build_model("lfmim", preset="paper")
"""

from training._lazy import lazy_exports

_EXPORTS = {
    "ALL_HEADS": ".names",
    "PAPER_FEATURE_DIMS": ".common",
    "PAPER_SEQ_LENS": ".common",
    "RELEASED_FEATURE_DIMS": ".common",
    "RELEASED_SEQ_LENS": ".common",
    "UNI_MODALITIES": ".common",
    "EmotionModel": ".common",
    "ModalityInputs": ".common",
    "ModelConfig": ".common",
    "default_device": ".common",
    "LFMIM": ".lfmim",
    "LFMIMConfig": ".lfmim",
    "lfmim_paper_config": ".lfmim",
    "lfmim_released_config": ".lfmim",
    "MulT": ".mult",
    "MulTConfig": ".mult",
    "PMR": ".pmr",
    "PMRConfig": ".pmr",
    "ModelOutput": ".common",
    "TAILOR": ".tailor",
    "TAILORConfig": ".tailor",
    "tailor_released_config": ".tailor",
    "LFMIM_ML_LABEL_TARGETS": ".registry",
    "MODEL_CLASSES": ".registry",
    "MODEL_NAMES": ".names",
    "build_config": ".registry",
    "build_model": ".registry",
    "count_parameters": ".registry",
    "model_from_dict": ".registry",
    "model_to_dict": ".registry",
    "presets": ".registry",
    "LMF": ".tensor_fusion",
    "TFN": ".tensor_fusion",
    "LMFConfig": ".tensor_fusion",
    "TFNConfig": ".tensor_fusion",
    "EFTConfig": ".transformer_fusion",
    "EFTransformer": ".transformer_fusion",
    "LFTConfig": ".transformer_fusion",
    "LFTransformer": ".transformer_fusion",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
