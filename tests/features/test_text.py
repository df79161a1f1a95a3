import hashlib
import json
import shutil

import numpy as np
import pytest
import transformers

from training.features import TextFeatureExtractor
from training.features.common import resolve_device

from .conftest import save_tiny_bert

TEXTS = ["我今天很高兴", "你好吗？", "他说不想去了。"]


def test_features_are_80_tokens_of_hidden_size_with_masks_counting_cls_chars_and_sep(bert_path):
    extractor = TextFeatureExtractor(str(bert_path))
    features, mask = extractor.extract(TEXTS)
    assert features.shape == (3, 80, 32) and features.dtype == np.float32
    assert mask.shape == (3, 80) and mask.dtype == bool
    # Chinese BERT tokenises one character per token; CLS and SEP are added.
    assert mask.sum(1).tolist() == [len(t) + 2 for t in TEXTS]
    assert all(m[:n].all() and not m[n:].any() for m, n in zip(mask, mask.sum(1), strict=True))


def test_long_transcripts_are_truncated_to_max_words_and_still_end_with_sep(bert_path):
    extractor = TextFeatureExtractor(str(bert_path))
    long_text = "我" * 150
    features, mask = extractor.extract([long_text])
    assert features.shape == (1, 80, 32)
    assert mask.all()
    ids = extractor.tokenize([long_text])["input_ids"][0]
    assert ids[0] == extractor.tokenizer.cls_token_id
    assert ids[-1] == extractor.tokenizer.sep_token_id


def test_max_words_option_sets_the_sequence_length(bert_path):
    features, mask = TextFeatureExtractor(str(bert_path), max_words=10).extract(TEXTS)
    assert features.shape == (3, 12, 32) and mask.shape == (3, 12)


def test_batched_extraction_equals_one_by_one(bert_path):
    batched = TextFeatureExtractor(str(bert_path), batch_size=8).extract(TEXTS)
    single = TextFeatureExtractor(str(bert_path), batch_size=1).extract(TEXTS)
    np.testing.assert_allclose(batched.features, single.features, atol=1e-5)
    np.testing.assert_array_equal(batched.mask, single.mask)


def test_device_defaults_to_cuda_when_available_else_cpu(bert_path):
    extractor = TextFeatureExtractor(str(bert_path))
    assert extractor.device == resolve_device(None)
    assert resolve_device("cpu") == "cpu"
    assert str(next(extractor.model.parameters()).device).startswith(extractor.device)


def test_describe_records_model_version_hidden_size_and_weights_hash(bert_path):
    info = TextFeatureExtractor(str(bert_path)).describe()
    weights = bert_path / "model.safetensors"
    assert info["model"] == str(bert_path)
    assert info["transformers_version"] == transformers.__version__
    assert info["hidden_size"] == 32
    assert info["max_words"] == 78 and info["sequence_length"] == 80
    assert info["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert info["weights_files"][0]["name"] == "model.safetensors"
    json.dumps(info)  # goes into the datasheet as is


def test_weights_hash_changes_when_the_weights_change(bert_path, tmp_path):
    copy = tmp_path / "same"
    shutil.copytree(bert_path, copy)
    other = save_tiny_bert(tmp_path / "other", seed=1)
    original = TextFeatureExtractor(str(bert_path)).describe()["weights_sha256"]
    assert TextFeatureExtractor(str(copy)).describe()["weights_sha256"] == original
    assert TextFeatureExtractor(str(other)).describe()["weights_sha256"] != original


def test_a_tokenizer_without_its_vocabulary_is_refused(bert_path, tmp_path):
    # transformers 5 ignores `vocab_file=`: such a tokenizer knows only the special tokens.
    from transformers import BertModel, BertTokenizerFast

    broken = tmp_path / "broken"
    BertModel.from_pretrained(bert_path).save_pretrained(broken)
    BertTokenizerFast(vocab={"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3}).save_pretrained(
        broken
    )
    with pytest.raises(ValueError, match="most words would become \\[UNK\\]"):
        TextFeatureExtractor(str(broken), device="cpu")


def test_the_demo_random_bert_knows_every_character_of_the_synthetic_transcripts(tmp_path):
    from labeling.synthetic import plan_corpus
    from training.features.random_models import save_random_models

    path = save_random_models(tmp_path, "tiny")["text"]
    extractor = TextFeatureExtractor(path, device="cpu")
    transcripts = [item.transcript for item in plan_corpus(50, seed=1)]
    ids = extractor.tokenize(transcripts)["input_ids"]
    assert (ids == extractor.tokenizer.unk_token_id).sum() == 0


def test_demo_models_saved_with_a_broken_tokenizer_get_their_vocabulary_back(tmp_path):
    from transformers import BertTokenizerFast

    from training.features.random_models import chinese_vocab, save_random_models

    path = save_random_models(tmp_path, "tiny")["text"]
    BertTokenizerFast(vocab={"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3}).save_pretrained(path)
    assert save_random_models(tmp_path, "tiny")["text"] == path
    assert len(TextFeatureExtractor(path, device="cpu").tokenizer) == len(chinese_vocab())
