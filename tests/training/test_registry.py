"""Models are built by name and preset, recorded as plain dicts and rebuilt from them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training.models import (
    LFMIM,
    MODEL_NAMES,
    PMR,
    RELEASED_FEATURE_DIMS,
    build_config,
    build_model,
    model_from_dict,
    model_to_dict,
    presets,
)

from .tiny import ALL_PRESETS, padded_batch, tiny_model

REPO = Path(__file__).resolve().parents[2]


def test_registry_names_lfmim_its_ablation_the_six_baselines_and_tailor():
    assert set(MODEL_NAMES) == {
        "lfmim", "lfmim-ml", "pmr", "tfn", "lmf", "eft", "lft", "mult", "tailor"
    }  # fmt: skip


def test_lfmim_offers_paper_and_released_presets_with_paper_as_default():
    assert presets("lfmim") == ("paper", "released")
    assert build_config("lfmim") == build_config("lfmim", preset="paper")


@pytest.mark.parametrize(("name", "preset"), ALL_PRESETS)
def test_config_round_trips_through_json_and_rebuilds_an_identical_model(name, preset):
    model = tiny_model(name, preset)
    record = json.loads(json.dumps(model_to_dict(model)))
    rebuilt = model_from_dict(record)
    assert type(rebuilt) is type(model)
    assert rebuilt.config == model.config
    assert rebuilt.label_targets == model.label_targets
    rebuilt.load_state_dict(model.state_dict())  # strict: same parameter names and shapes
    rebuilt.eval()
    batch = padded_batch()
    with torch.no_grad():
        a, b = model(batch), rebuilt(batch)
    for head in model.heads:
        torch.testing.assert_close(a[head], b[head], atol=0, rtol=0)


def test_lfmim_ml_record_rebuilds_an_lfmim_trained_on_multi_modal_labels():
    record = model_to_dict(tiny_model("lfmim-ml", "paper"))
    assert record["model_type"] == "lfmim"
    assert set(record["config"]["label_targets"].values()) == {"m"}
    assert model_from_dict(record).label_targets == {"t": "m", "a": "m", "v": "m", "m": "m"}


def test_registry_builds_the_expected_classes_and_presets():
    assert isinstance(build_model("pmr", d_model=16, num_heads=2, num_layers=1), PMR)
    with torch.device("meta"):
        released = build_model("lfmim", preset="released")
    assert isinstance(released, LFMIM)
    c = released.config
    assert (c.d_model, c.num_heads, c.num_layers) == (1024, 16, 4)
    assert c.feature_dims == RELEASED_FEATURE_DIMS
    assert c.hub_order == ("t", "v", "a") and c.fex_tokens == 4 and c.uni_tokens == 1
    paper = build_config("lfmim")
    assert (paper.d_model, paper.num_heads, paper.num_layers) == (128, 8, 4)


def test_feature_dims_and_overrides_reach_the_config():
    dims = {"t": 1024, "a": 1024, "v": 2048}
    config = build_config("mult", feature_dims=dims, d_model=64, num_classes=3)
    assert config.feature_dims == dims and config.d_model == 64 and config.num_classes == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(name="lfmimm"), "Unknown model 'lfmimm'; choose one of lfmim, lfmim-ml"),
        (dict(name="tfn", preset="released"), "has no preset 'released'; choose one of paper"),
        (dict(name="lmf", ranks=3), "has no setting"),
        (dict(name="lfmim", num_heads=5), "divisible by num_heads"),
        (dict(name="lfmim", pooling="max"), "pooling must be one of"),
    ],
)
def test_bad_requests_are_refused_with_a_sentence_saying_what_to_do(kwargs, message):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=message):
        build_config(name, **kwargs)


def test_config_from_dict_refuses_unknown_fields():
    record = model_to_dict(tiny_model("eft", "paper"))
    record["config"]["layers"] = 3
    with pytest.raises(ValueError, match="no field"):
        model_from_dict(record)


def test_models_package_imports_without_django():
    code = "import sys, training.models; assert not [m for m in sys.modules if 'django' in m]"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
