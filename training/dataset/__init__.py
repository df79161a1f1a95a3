"""Export CHERMA-style datasets and read them back (layout: ``training/DATASET.md``).

Pure Python, NumPy and PyTorch; no Django. The Django side selects decided utterances, turns
them into ``ExportRecord``s and calls ``export_dataset``; the trainer reads with
``open_dataset`` / ``CHERMASplit``.
"""

from .checksums import verify_checksums
from .reader import CHERMADataset, CHERMASplit, collate, open_dataset
from .records import (
    CLASS_ORDERS,
    ExportCancelled,
    ExportError,
    ExportRecord,
    ExportResult,
    Extractors,
)
from .split import SPLITS, split_sizes, split_utterances
from .writer import MANIFEST_COLUMNS, export_dataset, partial_path

__all__ = [
    "CLASS_ORDERS",
    "CHERMADataset",
    "CHERMASplit",
    "ExportCancelled",
    "ExportError",
    "ExportRecord",
    "ExportResult",
    "Extractors",
    "MANIFEST_COLUMNS",
    "SPLITS",
    "collate",
    "export_dataset",
    "open_dataset",
    "partial_path",
    "split_sizes",
    "split_utterances",
    "verify_checksums",
]
