"""Model and head names, importable without PyTorch (the web side lists and checks them)."""

MODEL_NAMES: tuple[str, ...] = (
    "lfmim",
    "lfmim-ml",
    "pmr",
    "tfn",
    "lmf",
    "eft",
    "lft",
    "mult",
    "tailor",
)
ALL_HEADS: tuple[str, ...] = ("t", "a", "v", "m")
