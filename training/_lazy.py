"""Lazy package exports (PEP 562): `from training.dataset import ExportError` loads only the
module that defines it. The Django web process imports a few light names (exceptions,
model names) and must not pay for PyTorch and transformers on every start."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable, Callable]:
    """`__getattr__` and `__dir__` for a package whose names live in submodules.

    `exports` maps each public name to its submodule, relative to the package (".writer").
    """

    def __getattr__(name: str):
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
