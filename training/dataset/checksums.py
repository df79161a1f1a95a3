"""SHA256SUMS in the format of coreutils ``sha256sum`` (``sha256sum -c SHA256SUMS`` checks it)."""

from __future__ import annotations

from pathlib import Path

from training.hashing import sha256_file

SUMS_FILE = "SHA256SUMS"


def dataset_files(root: Path, skip: str | None = None) -> list[str]:
    """Every file under ``root`` except SHA256SUMS (and folder ``skip``), sorted, relative."""
    found = (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return sorted(f for f in found if f != SUMS_FILE and not (skip and f.startswith(f"{skip}/")))


def write_sha256sums(
    root: Path, known: dict[str, str] | None = None, *, skip: str | None = None
) -> None:
    """Hash every file (reusing ``known`` digests of files just written) into SHA256SUMS."""
    known = known or {}
    lines = []
    for relative in dataset_files(root, skip):
        if "\n" in relative or "\\" in relative:
            raise ValueError(f"{relative!r} cannot be listed in SHA256SUMS; rename it.")
        digest = known.get(relative) or sha256_file(root / relative)
        lines.append(f"{digest}  {relative}\n")
    (root / SUMS_FILE).write_text("".join(lines), encoding="utf-8")


def verify_checksums(directory: str | Path) -> list[str]:
    """Files listed in SHA256SUMS that are missing or whose contents no longer match."""
    root = Path(directory)
    sums = root / SUMS_FILE
    if not sums.is_file():
        raise FileNotFoundError(
            f"{sums} does not exist; only a complete export has one (re-export to get it)."
        )
    bad = []
    for line in sums.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        digest, _, relative = line.partition(" ")
        relative = relative[1:] if relative[:1] in (" ", "*") else relative
        path = root / relative
        if not path.is_file() or sha256_file(path) != digest.lower():
            bad.append(relative)
    return bad
