"""TrainConfig: every setting of a training run, plain values only, so it round-trips via JSON.

Defaults are the released LFMIM code's recipe (SPEC §5): 20 epochs, batch 24 per process, SGD
lr 0.005 without momentum, LambdaLR lr = lr0 / epoch (epochs counted from 1), β_u = 1.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Self

from training.models import ALL_HEADS, MODEL_NAMES, presets

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("lambda", "none")
PRECISIONS = ("auto", "no", "bf16", "fp16")
SELECT_METRICS = (
    "f1_weighted", "f1_macro", "accuracy", "loss", "f1_micro", "hamming_loss"
)  # fmt: skip
# Selection metrics that exist only for multi-label runs.
MULTILABEL_ONLY_METRICS = frozenset({"f1_micro", "hamming_loss"})
LABEL_MODES = ("single-label", "multi-label")

# Fields that may differ between a run and its resumption: they change speed or length, not
# the arithmetic of the epochs already done.
RESUMABLE_CHANGES = frozenset({"epochs", "num_workers", "checkpoint_every"})


def _plain(value: Any) -> Any:
    """Tuples become lists (as JSON would), so a config equals its JSON round trip."""
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class TrainConfig:
    """One training run. `batch_size` is per process (per GPU under torchrun), as released."""

    model: str = "lfmim"
    preset: str | None = None  # None: the model's default preset ("paper")
    model_overrides: dict[str, Any] = field(default_factory=dict)  # passed to build_model
    epochs: int = 20
    batch_size: int = 24
    eval_batch_size: int | None = None  # None: same as batch_size
    optimizer: str = "sgd"
    lr: float = 0.005
    momentum: float = 0.0  # sgd only
    weight_decay: float = 0.0
    schedule: str = "lambda"  # "lambda": lr = lr0 / (epoch index + 1), stepped per epoch
    grad_clip: float | None = None  # max global gradient norm; None: no clipping (released)
    beta: dict[str, float] = field(default_factory=lambda: {h: 1.0 for h in ALL_HEADS})
    seed: int = 0
    num_workers: int = 0
    mixed_precision: str = "auto"  # auto: bf16 (else fp16) on CUDA, bf16 on CPUs where it is faster
    device: str = "auto"  # auto: cuda (this process's LOCAL_RANK) if available, else cpu
    deterministic: bool = False  # torch.use_deterministic_algorithms (exact resume on CUDA)
    # How `open_splits` reads an exported dataset: audio fixed to `audio_len` frames, longer
    # clips sampled uniformly ("sample", the paper, §5.1.2) or cut ("cut", the released code).
    audio_len: int = 100
    # Standardise every feature dimension with the training split's mean and std (not in the
    # paper or the released code; helps when extractors' output scales differ a lot).
    standardize: bool = False
    audio_how: str = "sample"
    checkpoint_every: int = 1  # write last.pt every this many epochs (and always at the end)
    max_steps_per_epoch: int | None = None  # cut epochs short, for quick runs
    # best.pt keeps the epoch with the best validation `select_metric` of head `select_head`.
    select_head: str = "m"
    select_metric: str = "f1_weighted"
    # "single-label" (CE, argmax) or "multi-label" (BCE per emotion, sigmoid > threshold);
    # None: the training set's `label_mode` (single-label when it has none).
    label_mode: str | None = None
    threshold: float = 0.35  # multi-label decision threshold on sigmoid outputs (TAILOR's)

    def __post_init__(self) -> None:
        beta = {h: 1.0 for h in ALL_HEADS}
        unknown = sorted(set(self.beta) - set(ALL_HEADS))
        if unknown:
            raise ValueError(f"beta has unknown head(s) {unknown}; heads are t, a, v, m.")
        beta.update({h: float(b) for h, b in self.beta.items()})
        object.__setattr__(self, "beta", beta)
        object.__setattr__(self, "model_overrides", _plain(dict(self.model_overrides)))
        self._validate()

    def _validate(self) -> None:
        def require(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(message)

        require(
            self.model in MODEL_NAMES,
            f"Unknown model {self.model!r}; choose one of {', '.join(MODEL_NAMES)}.",
        )
        require(
            self.preset is None or self.preset in presets(self.model),
            f"Model {self.model!r} has no preset {self.preset!r}; "
            f"choose one of {', '.join(presets(self.model))}.",
        )
        for name, choices in (
            ("optimizer", OPTIMIZERS),
            ("schedule", SCHEDULES),
            ("mixed_precision", PRECISIONS),
            ("select_metric", SELECT_METRICS),
        ):
            value = getattr(self, name)
            require(value in choices, f"{name} must be one of {', '.join(choices)}, not {value!r}.")
        require(
            self.audio_how in ("sample", "cut"),
            f"audio_how must be 'sample' or 'cut', not {self.audio_how!r}.",
        )
        require(self.select_head in ALL_HEADS, "select_head must be one of t, a, v, m.")
        require(
            self.label_mode is None or self.label_mode in LABEL_MODES,
            f"label_mode must be single-label or multi-label (or None), not {self.label_mode!r}.",
        )
        require(
            0.0 < self.threshold < 1.0,
            f"threshold must lie strictly between 0 and 1, not {self.threshold!r}.",
        )
        require(
            not (
                self.label_mode == "single-label" and self.select_metric in MULTILABEL_ONLY_METRICS
            ),
            f"select_metric {self.select_metric} exists only for multi-label runs.",
        )
        for name in ("epochs", "batch_size", "audio_len", "checkpoint_every"):
            require(getattr(self, name) >= 1, f"{name} must be at least 1.")
        for name in ("eval_batch_size", "max_steps_per_epoch"):
            value = getattr(self, name)
            require(value is None or value >= 1, f"{name} must be at least 1 (or None).")
        require(self.num_workers >= 0, "num_workers must be 0 or more.")
        require(self.lr > 0, "lr must be positive.")
        require(all(b >= 0 for b in self.beta.values()), "beta weights must not be negative.")
        require(
            self.device == "auto" or self.device.split(":")[0] in ("cpu", "cuda"),
            f"device must be auto, cpu, cuda or cuda:N, not {self.device!r}.",
        )

    @property
    def preset_name(self) -> str:
        """The preset actually used (the model's default when `preset` is None)."""
        return self.preset or presets(self.model)[0]

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from `to_dict()` output; unknown keys are an error, not silently ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"TrainConfig has no field(s) {unknown}; valid: {sorted(names)}.")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)

    def differences(self, other: TrainConfig) -> list[str]:
        """Names of the fields whose values differ between two configs."""
        a, b = self.to_dict(), other.to_dict()
        return sorted(k for k in a if a[k] != b[k])
