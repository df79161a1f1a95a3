"""bench/demo_chain.py: the demo chain runs on the embedded defaults with the demo's models,
the quick recipe, and reads the run's own test scores."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from labeling.management.commands.cherma_experiment import RECIPES
from training.metrics import classification_report, summarize_seeds

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("demo_chain", ROOT / "bench" / "demo_chain.py")
demo_chain = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo_chain)


def test_chain_environment_drops_the_variables_that_point_the_project_elsewhere(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("EXPORT_TEXT_MODELS", "bert=/models/bert")
    monkeypatch.setenv("MEDIA_ROOT", "/somewhere/media")
    monkeypatch.setenv("ANNOTATOR_VAR_DIR", "/somewhere")
    env = demo_chain.chain_environment(tmp_path)
    assert env["ANNOTATOR_VAR_DIR"] == str(tmp_path)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "EXPORT_TEXT_MODELS", "MEDIA_ROOT"):
        assert name not in env
    assert env["PATH"]  # the rest is kept


def test_chain_exports_with_the_demo_models_and_trains_with_the_quick_recipe(settings):
    campaign, recipe, models = demo_chain.demo_names()
    chain = dict(demo_chain.phases(Path("/var"), campaign, recipe, models, 40, 20))
    assert list(chain) == [
        "migrate", "make_demo", "simulate_annotators", "export_cherma", "train_lfmim"
    ]  # fmt: skip
    assert campaign in chain["simulate_annotators"] and campaign in chain["export_cherma"]
    for role in ("text", "audio", "vision"):
        folder = Path(settings.FEATURE_MODELS_DIR) / f"random-tiny-{role}"
        assert f"--{role}-model={folder}" in chain["export_cherma"]
    for key, value in RECIPES["quick"].items():
        assert f"--set={key}={value}" in chain["train_lfmim"]
    assert chain["make_demo"][:3] == ["make_demo", "--utterances", "40"]


def test_test_scores_are_read_per_head_from_the_runs_summary(tmp_path):
    classes = ["a", "b"]
    per_seed = [
        {
            "m": classification_report([0, 1, 1, 1], [0, 1, 1, 0], classes),
            "t": classification_report([0, 1, 1, 1], [1, 1, 1, 1], classes),
        }
    ]
    (tmp_path / "summary.json").write_text(json.dumps({"summary": summarize_seeds(per_seed)}))
    scores = demo_chain.read_test_scores(tmp_path)
    assert list(scores) == ["t", "m"]
    assert scores["m"]["accuracy"] == pytest.approx(0.75)
    assert scores["m"]["f1_weighted"] == pytest.approx(per_seed[0]["m"]["f1_weighted"])


def test_a_failing_phase_stops_the_benchmark_with_the_commands_error(tmp_path):
    env = demo_chain.chain_environment(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        demo_chain.run_phase("broken", ["no_such_command"], env)
    assert "broken failed (exit code 1)" in str(stopped.value)
    assert "Unknown command: 'no_such_command'" in str(stopped.value)
