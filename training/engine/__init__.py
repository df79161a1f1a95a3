"""Training engine: seeded, resumable, single- or multi-process (torchrun) training of any
`training.models` model on datasets of LFMIM items, in pure PyTorch (no Django).

    from training.engine import TrainConfig, train, train_seeds
    result = train(TrainConfig(model="lfmim", epochs=20), train_set, val_set, test_set, "runs/a")

Files: config.py (TrainConfig), loss.py (the β-weighted objective), data.py (batches and their
order), randomness.py, optim.py, precision.py, distributed.py, checkpoint.py (files and best
epoch), evaluate.py, result.py (RunResult, callbacks, cancellation), trainer.py (train),
seeds.py (train_seeds).
"""

from training._lazy import lazy_exports

_EXPORTS = {
    "BEST": ".checkpoint",
    "LAST": ".checkpoint",
    "BestSelection": ".checkpoint",
    "load_checkpoint": ".checkpoint",
    "TrainConfig": ".config",
    "Predictions": ".evaluate",
    "predict": ".evaluate",
    "score": ".evaluate",
    "LABEL_ORDER": ".loss",
    "head_targets": ".loss",
    "multi_head_loss": ".loss",
    "Callback": ".result",
    "RunResult": ".result",
    "TrainingCancelled": ".result",
    "SeedsResult": ".seeds",
    "train_seeds": ".seeds",
    "train": ".trainer",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
