"""Export CHERMA-style datasets and read them back (layout: ``training/DATASET.md``).

Pure Python, NumPy and PyTorch; no Django. The Django side selects decided utterances, turns
them into ``ExportRecord``s and calls ``export_dataset``; the trainer reads with
``open_dataset`` / ``CHERMASplit``. CMU-MOSEI-style feature files (MulT/TAILOR layout) are
read with ``open_feature_file`` (``mosei.py``).
"""

from training._lazy import lazy_exports

_EXPORTS = {
    "verify_checksums": ".checksums",
    "CHERMADataset": ".reader",
    "CHERMASplit": ".reader",
    "collate": ".reader",
    "open_dataset": ".reader",
    "FeatureFileError": ".mosei",
    "MOSEI_EMOTIONS": ".mosei",
    "is_feature_file": ".mosei",
    "open_feature_file": ".mosei",
    "CLASS_ORDERS": ".records",
    "ExportCancelled": ".records",
    "ExportError": ".records",
    "ExportRecord": ".records",
    "ExportResult": ".records",
    "NothingDecoded": ".records",
    "Extractors": ".records",
    "SPLITS": ".split",
    "split_sizes": ".split",
    "split_utterances": ".split",
    "MANIFEST_COLUMNS": ".writer",
    "export_dataset": ".writer",
    "partial_path": ".writer",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
