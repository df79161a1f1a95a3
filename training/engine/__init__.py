"""Training engine: seeded, resumable, single- or multi-process (torchrun) training of any
`training.models` model on datasets of LFMIM items, in pure PyTorch (no Django).

    from training.engine import TrainConfig, train, train_seeds
    result = train(TrainConfig(model="lfmim", epochs=20), train_set, val_set, test_set, "runs/a")

Files: config.py (TrainConfig), loss.py (the β-weighted objective), data.py (batches and their
order), randomness.py, optim.py, precision.py, distributed.py, checkpoint.py (files and best
epoch), evaluate.py, result.py (RunResult, callbacks, cancellation), trainer.py (train),
seeds.py (train_seeds).
"""

from .checkpoint import BEST, LAST, BestSelection, load_checkpoint
from .config import TrainConfig
from .evaluate import Predictions, predict, score
from .loss import LABEL_ORDER, head_targets, multi_head_loss
from .result import Callback, RunResult, TrainingCancelled
from .seeds import SeedsResult, train_seeds
from .trainer import train

__all__ = [
    "BEST",
    "BestSelection",
    "Callback",
    "LABEL_ORDER",
    "LAST",
    "Predictions",
    "RunResult",
    "SeedsResult",
    "TrainConfig",
    "TrainingCancelled",
    "head_targets",
    "load_checkpoint",
    "multi_head_loss",
    "predict",
    "score",
    "train",
    "train_seeds",
]
