"""A model that is not the paper's says so where it is named: the default ImageNet ResNet-18
is a substitute for the paper's RAF-DB ResNet-18, random models are for demos only."""

import json

from training.dataset.datasheet import render_markdown
from training.features.common import ModelDescription
from training.features.sources import RANDOM_MARKER, model_note


def test_the_default_vision_model_is_named_a_substitute_for_the_papers(session_extractors):
    model = session_extractors.vision.model
    described = ModelDescription("microsoft/resnet-18", model).base(512)
    assert "a substitute for the paper's RAF-DB ResNet-18" in described["note"]


def test_random_models_are_noted_as_demo_only_and_other_directories_not_at_all(tmp_path):
    (tmp_path / RANDOM_MARKER).write_text("random\n")
    assert model_note(str(tmp_path)) == "random weights, demo only"
    assert model_note(str(tmp_path / "elsewhere")) == ""


def test_the_datasheet_names_the_substitute_beside_the_vision_model(exported):
    sheet = json.loads((exported / "datasheet.json").read_text(encoding="utf-8"))
    sheet["extractors"]["vision"]["model"] = "microsoft/resnet-18"
    sheet["extractors"]["vision"]["note"] = model_note("microsoft/resnet-18")
    text = render_markdown(sheet)
    row = next(line for line in text.splitlines() if line.startswith("| vision |"))
    assert (
        "microsoft/resnet-18 (ResNetModel; ImageNet ResNet-18, a substitute for the paper's" in row
    )
