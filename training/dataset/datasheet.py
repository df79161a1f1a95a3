"""datasheet.json (what a program needs to know about an export) and DATASHEET.md (the same
for people: sizes, label distributions, failures, extractors, shapes)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from labeling.emotions import CHINESE_NAMES, MODALITIES, MODALITY_NAMES

from .split import SPLITS

FORMAT_VERSION = 1
FEATURES: tuple[str, ...] = ("text", "audio", "vision")  # keys of `shapes` and `extractors`


def label_distribution(rows: Sequence[dict], classes: Sequence[str]) -> dict:
    """{split: {modality: {label: n}}} over the rows that have features, every class listed."""
    table = {s: {m: dict.fromkeys(classes, 0) for m in MODALITIES} for s in SPLITS}
    for row in rows:
        if row["status"] == "ok":
            for m in MODALITIES:
                table[row["split"]][m][row[f"label_{m}"]] += 1
    return table


def label_frequencies(rows: Sequence[dict], classes: Sequence[str], separator: str) -> dict:
    """Multi-label datasheet keys: ``label_frequencies`` {split: {modality: {label: n}}}, the
    utterances (with features) carrying each label, and ``empty_label_sets`` {split:
    {modality: n}}, those carrying none. An utterance counts once for every label it has."""
    table = {s: {m: dict.fromkeys(classes, 0) for m in MODALITIES} for s in SPLITS}
    empty = {s: dict.fromkeys(MODALITIES, 0) for s in SPLITS}
    for row in rows:
        if row["status"] == "ok":
            for m in MODALITIES:
                names = [n for n in row[f"label_{m}"].split(separator) if n]
                for name in names:
                    table[row["split"]][m][name] += 1
                empty[row["split"]][m] += not names
    return {"label_frequencies": table, "empty_label_sets": empty}


def render_markdown(sheet: dict) -> str:
    """DATASHEET.md: the datasheet as tables a person can read."""
    out: list[str] = [f"# Datasheet: {sheet['name']}", ""]
    out += [
        f"Exported {sheet['created_at']} in the CHERMA dataset layout, format version "
        f"{sheet['format_version']} (see `training/DATASET.md`). Check the files with "
        "`sha256sum -c SHA256SUMS`.",
        "",
        *(_pool(sheet) if sheet.get("pool") else _splits(sheet)),
        "| split | utterances |",
        "|---|---|",
    ]
    out += [f"| {s} | {n} |" for s, n in sheet["sizes"].items()]
    out += [f"| **total** | {sum(sheet['sizes'].values())} |", ""]
    failed = sheet["failed"]
    out += ["## Failed utterances", ""]
    if failed:
        out += [
            f"{len(failed)} selected utterance(s) have no features because their media did "
            "not decode; they stay in the manifest with `status = failed` and are in no "
            "split's features.",
            "",
            "| utterance | error |",
            "|---|---|",
        ]
        out += [f"| {f['utterance_id']} | {_cell(f['error'])} |" for f in failed]
    else:
        out.append("None: every selected utterance has features.")
    mode = f", label mode `{sheet['label_mode']}`" if "label_mode" in sheet else ""
    out += ["", "## Classes", f"Class order `{sheet['class_order']}`{mode}:", ""]
    out += ["| id | label | 中文 |", "|---|---|---|"]
    out += [
        f"| {i} | {name} | {CHINESE_NAMES.get(name, '')} |"
        for i, name in enumerate(sheet["classes"])
    ]
    if sheet.get("pool"):
        out.append("")
    elif sheet.get("label_mode") == "multi-label":
        out += _label_frequencies(sheet)
    else:
        out += _label_distribution(sheet)
    out += ["## Features", ""]
    out += [
        f"Stored as `{sheet['dtype']}` in shards of up to {sheet['shard_size']} utterances "
        f"({sheet['num_shards']} shards). Shapes per utterance (audio length varies):",
        "",
        "| modality | shape | model | weights sha256 |",
        "|---|---|---|---|",
    ]
    for key in FEATURES:
        shape = " × ".join("T" if d is None else str(d) for d in sheet["shapes"][key])
        info = sheet["extractors"].get(key, {})
        # A substitute for the paper's model, or random weights, is said where it is named.
        note = f"; {info['note']}" if info.get("note") else ""
        out.append(
            f"| {key} | {shape} | {_cell(str(info.get('model', '?')))} "
            f"({info.get('architecture', '?')}{_cell(note)}) | `{info.get('weights_sha256')}` |"
        )
    out += ["", "Extractor settings and versions:", ""]
    for key in FEATURES:
        settings = {
            k: v for k, v in sheet["extractors"].get(key, {}).items() if k != "weights_files"
        }
        pairs = (f"{k}={_cell(json.dumps(v, ensure_ascii=False))}" for k, v in settings.items())
        out.append(f"- {key}: " + ", ".join(pairs))
    if sheet.get("released_layout"):
        out += ["", "`released/` holds the same features in the released LFMIM code's layout."]
    if sheet.get("statistics") is not None:
        out += ["", "## Curation statistics", "", "```json"]
        out += [json.dumps(sheet["statistics"], ensure_ascii=False, indent=2), "```"]
    return "\n".join(out) + "\n"


def _splits(sheet: dict) -> list[str]:
    return [
        "## Splits",
        f"Shuffled with seed `{sheet['seed']}` and split train/validation/test "
        f"{' : '.join(f'{r:g}' for r in sheet['split_ratio'])}"
        + (f", stratified by the multimodal label {_m_label(sheet)}" if sheet["stratified"] else "")
        + (
            " to exact sizes: utterances may move between splits if the corpus grows."
            if sheet.get("exact_sizes")
            else " by each utterance's own hash: adding utterances never moves one already "
            "here, and the sizes are the ratio up to sampling noise."
        ),
        "",
    ]


def _pool(sheet: dict) -> list[str]:
    return [
        "## Pool",
        "Utterances without final labels, all in the split `pool`, with features made as a "
        "labelled export makes them: what a trained model scores before the votes are in.",
        "",
    ]


def _label_distribution(sheet: dict) -> list[str]:
    out = ["", "## Label distribution", ""]
    if "label_mode" in sheet:
        out += ["Single-label: every utterance has exactly one label per modality.", ""]
    return out + _count_tables(sheet["classes"], sheet["label_distribution"])


def _label_frequencies(sheet: dict) -> list[str]:
    out = [
        "",
        "## Label frequencies (multi-label)",
        "",
        "Multi-label: each utterance has a set of labels per modality (several, one or none), "
        "stored multi-hot in `labels.npy` (manifest rows × t, a, v, m × classes). Each count is "
        "the number of utterances carrying that label, so a column may sum to more than the "
        "split's size; `(none)` counts utterances with an empty set.",
        "",
    ]
    return out + _count_tables(
        sheet["classes"], sheet["label_frequencies"], empty=sheet["empty_label_sets"]
    )


def _count_tables(classes: Sequence[str], counts: dict, empty: dict | None = None) -> list[str]:
    """One table per modality: a row per label (and `(none)`), a column per split."""
    out: list[str] = []

    def row(name: str, values: list[int]) -> str:
        return f"| {name} | " + " | ".join(map(str, values)) + f" | {sum(values)} |"

    for m in MODALITIES:
        out += [f"### {m} ({MODALITY_NAMES[m]})", ""]
        out += ["| label | " + " | ".join(SPLITS) + " | all |", "|---|" + "---|" * 4]
        out += [row(name, [counts[s][m][name] for s in SPLITS]) for name in classes]
        if empty is not None:
            out.append(row("(none)", [empty[s][m] for s in SPLITS]))
        out.append("")
    return out


def _m_label(sheet: dict) -> str:
    return "set `m`" if sheet.get("label_mode") == "multi-label" else "`m`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
