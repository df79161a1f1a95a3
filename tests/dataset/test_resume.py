"""Atomic and resumable export: a crash leaves only the partial directory, and a re-run keeps
the shards whose done-file verifies."""

import dataclasses
import json

import pytest

from training.dataset import ExportError, export_dataset, partial_path

from .conftest import Counting

SHARD = 4  # 13 records: shards of 4, 4, 4, 1


class Crash(RuntimeError):
    pass


def crash_at(count: int):
    def progress(done: int, total: int) -> None:
        if done == count:
            raise Crash(f"killed at utterance {done}")

    return progress


def run(records, out, extractors, **options):
    return export_dataset(
        records, out, extractors=extractors, seed=5, name="r", shard_size=SHARD, **options
    )


def fresh(extractors):
    return dataclasses.replace(
        extractors,
        text=Counting(extractors.text.inner),
        audio=Counting(extractors.audio.inner),
        vision=Counting(extractors.vision.inner),
    )


def feature_files(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted((root / "features").rglob("*"))
        if p.is_file()
    }


def test_a_crash_leaves_no_out_dir_only_the_partial_dir(tmp_path, records, extractors):
    out = tmp_path / "d"
    with pytest.raises(Crash):
        run(records, out, extractors, progress=crash_at(SHARD + 2))
    assert not out.exists()
    partial = partial_path(out)
    assert partial.name == ".d.partial" and partial.parent == tmp_path
    assert (partial / ".progress/shard-00000.done.json").is_file()
    assert not (partial / ".progress/shard-00001.done.json").exists()
    assert not (partial / "manifest.csv").exists()


def test_rerun_skips_verified_shards_and_equals_an_uninterrupted_export(
    tmp_path, records, extractors
):
    reference = run(records, tmp_path / "reference", extractors)
    out = tmp_path / "d"
    with pytest.raises(Crash):
        run(records, out, fresh(extractors), progress=crash_at(2 * SHARD + 1))

    again = fresh(extractors)
    result = run(records, out, again)
    assert result.reused_shards == [0, 1]
    assert again.text.calls["extract"] == reference.num_shards - 2
    assert again.text.items["extract"] == 5  # the 4 + 1 utterances of shards 2 and 3
    assert not partial_path(out).exists()
    ref = tmp_path / "reference"
    assert (out / "manifest.csv").read_bytes() == (ref / "manifest.csv").read_bytes()
    assert (out / "manifest.parquet").read_bytes() == (ref / "manifest.parquet").read_bytes()
    assert feature_files(out) == feature_files(ref)
    assert not list(out.rglob("*.done.json")) and not (out / ".progress").exists()


def test_a_damaged_shard_is_recomputed_on_resume(tmp_path, records, extractors):
    out = tmp_path / "d"
    with pytest.raises(Crash):
        run(records, out, extractors, progress=crash_at(2 * SHARD + 1))
    damaged = partial_path(out) / "features/audio/shard-00001.npy"
    damaged.write_bytes(damaged.read_bytes()[:-8])
    again = fresh(extractors)
    result = run(records, out, again)
    assert result.reused_shards == [0]
    assert again.text.calls["extract"] == 3


def test_changed_inputs_are_not_taken_from_the_partial_dir(tmp_path, records, extractors):
    out = tmp_path / "d"
    with pytest.raises(Crash):
        run(records, out, extractors, progress=crash_at(SHARD + 1))
    done = json.loads((partial_path(out) / ".progress/shard-00000.done.json").read_text())
    target = done["ok"][0]  # a new transcript for one utterance of the finished shard
    changed = [
        dataclasses.replace(r, transcript="我不想说") if r.utterance_id == target else r
        for r in records
    ]
    assert run(changed, out, fresh(extractors)).reused_shards == []


def test_a_different_seed_reshards_and_reuses_nothing(tmp_path, records, extractors):
    out = tmp_path / "d"
    with pytest.raises(Crash):
        run(records, out, extractors, progress=crash_at(SHARD + 1))
    result = export_dataset(
        records, out, extractors=fresh(extractors), seed=99, name="r", shard_size=SHARD
    )
    assert result.reused_shards == []


def test_a_second_export_to_the_same_target_waits_its_turn(tmp_path, records, extractors):
    out = tmp_path / "d"
    errors = []

    def meanwhile(done: int, total: int) -> None:
        if done == 1:
            try:
                run(records, out, fresh(extractors))
            except ExportError as exc:
                errors.append(str(exc))

    run(records, out, extractors, progress=meanwhile)
    assert len(errors) == 1 and "Another export is writing" in errors[0]
    assert (out / "manifest.csv").is_file()
