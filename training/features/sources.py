"""Where a feature model comes from, without loading it (no PyTorch): its weight files on this
machine, and what the datasheet and the export form say of it.

The paper's extractors (§3.3) are a Chinese BERT-wwm, a Chinese wav2vec 2.0 and a ResNet-18
trained on RAF-DB (faces, seven emotions). No RAF-DB ResNet-18 is on the model hub, so the
default vision model is an ImageNet ResNet-18: a substitute, and said to be one wherever it
is named.
"""

from __future__ import annotations

from pathlib import Path

# The arithmetic a feature model may run in (training.features.common.resolve_precision).
PRECISIONS = ("auto", "fp32", "bf16")
# Weight files in the order transformers prefers them; the first kind present is the one loaded.
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "*.bin")
# save_random_models writes this file into each model it makes: its weights are random.
RANDOM_MARKER = "RANDOM_WEIGHTS"
RANDOM_NOTE = "random weights, demo only"

MODEL_NOTES = {
    "hfl/chinese-bert-wwm-ext": "Chinese BERT-wwm (Cui et al.), the paper's kind of text model",
    "TencentGameMate/chinese-wav2vec2-base": (
        "Chinese wav2vec 2.0 base trained on WenetSpeech, the paper's kind of audio model"
    ),
    "microsoft/resnet-18": (
        "ImageNet ResNet-18, a substitute for the paper's RAF-DB ResNet-18 (not trained on "
        "faces or emotions)"
    ),
}


def model_note(model_name_or_path: str) -> str:
    """What to tell a reader about a model beyond its name: "" when nothing is known."""
    path = Path(model_name_or_path).expanduser()
    if path.is_dir():
        return RANDOM_NOTE if (path / RANDOM_MARKER).is_file() else ""
    return MODEL_NOTES.get(model_name_or_path, "")


def weight_files(model_name_or_path: str) -> list[Path]:
    """Local weight files behind a model directory or an already-downloaded hub id (the
    Hugging Face cache only, as ``local_files_only`` reads it; never the network)."""
    root = Path(model_name_or_path)
    if not root.is_dir():
        try:
            from huggingface_hub import snapshot_download

            root = Path(
                snapshot_download(
                    model_name_or_path, local_files_only=True, allow_patterns=list(WEIGHT_PATTERNS)
                )
            )
        except Exception:  # noqa: BLE001 - not in the cache (or no valid id): no files here
            return []
    for pattern in WEIGHT_PATTERNS:
        found = sorted(p for p in root.glob(pattern) if p.is_file())
        if found:
            return found
    return []


def on_this_machine(model_name_or_path: str) -> bool:
    """A save_pretrained directory here, or a hub id whose config and weights are in the
    Hugging Face cache (what ``from_pretrained(..., local_files_only=True)`` would load)."""
    path = Path(model_name_or_path).expanduser()
    if path.is_dir():
        return (path / "config.json").is_file()
    from huggingface_hub import try_to_load_from_cache

    try:
        config = try_to_load_from_cache(model_name_or_path, "config.json")
    except ValueError:  # not a valid hub id (HFValidationError)
        return False
    return isinstance(config, str) and bool(weight_files(model_name_or_path))
