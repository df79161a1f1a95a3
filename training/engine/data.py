"""From dataset items to model batches, and the order the trainer visits them in.

An item is a dict: `text (L_t, D_t)`, `text_mask (L_t,)`, `audio`, `audio_mask`, `vision`,
`vision_mask` (tensors or arrays; masks True = real position), `labels` in t, a, v, m order —
`(4,)` class ids (single-label) or `(4, C)` multi-hot floats (multi-label) — and optionally
`utterance_id` (str). Any map-style torch Dataset of such
items works; `training.dataset.CHERMASplit` is the one for exported datasets.

Training order is a pure function of (seed, epoch): the permutation DistributedSampler draws
from `seed + epoch`, split across processes. A resumed epoch skips the batches already done.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, default_collate

from training.models import ModalityInputs

from .distributed import DistContext
from .randomness import derive_seed, seed_worker

_FEATURES = ("text", "audio", "vision")
_MODALITY_OF = {"text": "t", "audio": "a", "vision": "v"}


@dataclass
class Batch:
    inputs: ModalityInputs
    labels: torch.Tensor  # (B, 4) long ids, or (B, 4, C) float multi-hot; t, a, v, m
    utterance_ids: list[str] | None

    def __len__(self) -> int:
        return self.labels.shape[0]


def collate_for(dataset: Dataset) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """The dataset's own `collate` (CHERMASplit's pads unequal lengths) or torch's default,
    which stacks equal-length tensors and keeps utterance ids as a list of strings."""
    return getattr(dataset, "collate", None) or default_collate


def to_batch(collated: dict[str, Any], device: torch.device) -> Batch:
    """A collated dict on `device`: float32 features, bool masks, long labels (float32 when
    multi-hot, i.e. (B, 4, C))."""
    non_blocking = device.type == "cuda"
    fields = {}
    for name in _FEATURES:
        fields[name] = torch.as_tensor(collated[name]).to(
            device, dtype=torch.float32, non_blocking=non_blocking
        )
        fields[name + "_mask"] = torch.as_tensor(collated[name + "_mask"]).to(
            device, dtype=torch.bool, non_blocking=non_blocking
        )
    labels = torch.as_tensor(collated["labels"])
    labels = labels.to(device, dtype=torch.float32 if labels.dim() == 3 else torch.long)
    ids = collated.get("utterance_id")
    return Batch(ModalityInputs(**fields), labels, list(ids) if ids is not None else None)


def infer_label_mode(dataset: Dataset, num_classes: int, wanted: str | None) -> str:
    """The run's label mode: `wanted` (the config's) or the dataset's `label_mode` (items of
    (4, C) labels mean multi-label), checked against the first item's labels."""
    labels = torch.as_tensor(dataset[0]["labels"])
    found = "multi-label" if labels.dim() == 2 else "single-label"
    declared = getattr(dataset, "label_mode", found)
    mode = wanted or declared
    if mode != found or declared != found:
        raise ValueError(
            f"The training set's labels are {found} (shape {tuple(labels.shape)}) but the run "
            f"asks for {mode}; set label_mode to {found} or train on a {mode} dataset."
        )
    if found == "multi-label" and labels.shape != (4, num_classes):
        raise ValueError(
            f"Multi-label items need labels of shape (4, {num_classes}) (t, a, v, m × one "
            f"column per class); got {tuple(labels.shape)}."
        )
    return mode


def infer_shapes(dataset: Dataset) -> tuple[dict[str, int], dict[str, int]]:
    """(feature_dims, seq_lens) per modality t, a, v, read from the dataset's first item."""
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise ValueError("The training set is empty; export a dataset with training samples.")
    item = dataset[0]
    missing = [
        k for k in (*_FEATURES, *(f + "_mask" for f in _FEATURES), "labels") if k not in item
    ]
    if missing:
        raise ValueError(
            f"Dataset items need the keys text, text_mask, audio, audio_mask, vision, "
            f"vision_mask and labels; missing {missing}."
        )
    dims, lens = {}, {}
    for name in _FEATURES:
        shape = tuple(item[name].shape)
        if len(shape) != 2:
            raise ValueError(f"Item field {name!r} must be (L, D); got shape {shape}.")
        lens[_MODALITY_OF[name]], dims[_MODALITY_OF[name]] = shape
    return dims, lens


class ResumableSampler(DistributedSampler):
    """DistributedSampler (also on one process) that can skip the first `skip` samples of this
    process's share, to resume an epoch part-way through. Order: permutation of seed + epoch."""

    def __init__(self, dataset: Dataset, ctx: DistContext, *, seed: int, epoch: int, skip: int):
        super().__init__(
            dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed
        )
        self.set_epoch(epoch)
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(super().__iter__(), self.skip, None)

    def __len__(self) -> int:
        return max(0, self.num_samples - self.skip)


class ShardSampler(Sampler[int]):
    """Evaluation order: process r of W takes samples r, r + W, r + 2W, ... (no padding)."""

    def __init__(self, size: int, ctx: DistContext):
        self.indices = list(range(ctx.rank, size, ctx.world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def steps_per_epoch(size: int, batch_size: int, ctx: DistContext, cap: int | None) -> int:
    """Optimiser steps of one epoch on each process (every process takes the same number)."""
    share = -(-size // ctx.world_size)  # DistributedSampler pads to equal shares
    steps = -(-share // batch_size)
    return min(steps, cap) if cap is not None else steps


def train_loader(
    dataset: Dataset,
    ctx: DistContext,
    *,
    seed: int,
    epoch: int,
    batch_size: int,
    num_workers: int,
    skip_batches: int = 0,
) -> DataLoader:
    """This process's batches of epoch `epoch` (0-based), from batch `skip_batches` on."""
    sampler = ResumableSampler(dataset, ctx, seed=seed, epoch=epoch, skip=skip_batches * batch_size)
    generator = torch.Generator().manual_seed(derive_seed(seed, "loader", epoch, ctx.rank))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_for(dataset),
        pin_memory=ctx.device.type == "cuda",
        worker_init_fn=seed_worker,
        generator=generator,
    )


def eval_loader(
    dataset: Dataset, ctx: DistContext, *, batch_size: int, num_workers: int
) -> tuple[DataLoader, list[int]]:
    """This process's shard of `dataset` in order, and the dataset indices it covers."""
    sampler = ShardSampler(len(dataset), ctx)  # type: ignore[arg-type]
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_for(dataset),
        pin_memory=ctx.device.type == "cuda",
        worker_init_fn=seed_worker,
        generator=torch.Generator().manual_seed(0),
    )
    return loader, sampler.indices
