"""Production settings refuse unsafe defaults; the embedded defaults need no server."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_settings(tmp_path, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ANNOTATOR_ENV"}
    }
    clean.update(
        env, ANNOTATOR_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="annotator.settings"
    )
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.DEBUG)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_embedded_defaults_use_sqlite_and_a_filesystem_broker(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://", "True"]


def test_production_refuses_the_default_secret_key(tmp_path):
    result = load_settings(tmp_path, ANNOTATOR_ENV="production", DEBUG="0")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_production_refuses_debug(tmp_path):
    result = load_settings(tmp_path, ANNOTATOR_ENV="production", SECRET_KEY="s" * 50, DEBUG="1")
    assert result.returncode != 0
    assert "Set DEBUG=0" in result.stderr


def test_production_starts_with_a_real_key_and_debug_off(tmp_path):
    result = load_settings(
        tmp_path,
        ANNOTATOR_ENV="production",
        SECRET_KEY="s" * 50,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "redis://127.0.0.1:6379/15",
        "False",
    ]


def test_feature_model_choices_are_read_as_label_source_pairs():
    from annotator.settings import parse_choices

    text = "RAF-DB ResNet-18=/models/raf db; ImageNet=microsoft/resnet-18\nhub/bare-id;;"
    assert parse_choices("EXPORT_VISION_MODELS", text) == [
        ("RAF-DB ResNet-18", "/models/raf db"),
        ("ImageNet", "microsoft/resnet-18"),
        ("hub/bare-id", "hub/bare-id"),
    ]
    assert parse_choices("EXPORT_TEXT_MODELS", "") == []


def test_a_feature_model_choice_without_a_model_stops_the_settings_with_advice(tmp_path):
    result = load_settings(tmp_path, EXPORT_AUDIO_MODELS="wav2vec=")
    assert result.returncode != 0
    assert "EXPORT_AUDIO_MODELS: 'wav2vec=' needs a label and a model" in result.stderr


def test_feature_model_choices_come_from_the_environment(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.EXPORT_FEATURE_MODELS['vision'], s.EXPORT_FEATURE_MODELS['text'], "
        "s.FEATURE_MODELS_DIR)"
    )
    env = {
        **os.environ,
        "EXPORT_VISION_MODELS": "RAF-DB=/models/raf",
        "ANNOTATOR_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
    }
    env.pop("EXPORT_TEXT_MODELS", None)
    env.pop("FEATURE_MODELS_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "[('RAF-DB',", "'/models/raf')]", "[]", str(tmp_path / "var" / "feature-models")
    ]  # fmt: skip


def test_production_refuses_to_fall_back_to_sqlite(tmp_path):
    result = load_settings(tmp_path, ANNOTATOR_ENV="production", SECRET_KEY="s" * 50)
    assert result.returncode != 0
    assert "Set DATABASE_URL" in result.stderr


def production_security(tmp_path, **env):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, sep='|')"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "ANNOTATOR_ENV"}}
    clean.update(env, ANNOTATOR_VAR_DIR=str(tmp_path / "var"))
    clean["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split("|")


def test_production_turns_on_https_hsts_the_proxy_header_and_secure_cookies(tmp_path):
    production = production_security(
        tmp_path,
        ANNOTATOR_ENV="production",
        SECRET_KEY="s" * 50,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
    )
    assert production == [
        "True",
        str(365 * 24 * 3600),
        "('HTTP_X_FORWARDED_PROTO', 'https')",
        "True",
        "True",
    ]
    local = production_security(tmp_path)
    assert local == ["False", "0", "None", "False", "False"]


def share_through_cache(tmp_path, value: str, **env):
    """One process sets a cache key (as a web worker caching a figure), another reads it."""
    base = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    base.update(env, ANNOTATOR_VAR_DIR=str(tmp_path / "var"))
    base["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    setup = "import django; django.setup(); from django.core.cache import cache; "
    write = subprocess.run(
        [sys.executable, "-c", setup + f"cache.set('settings-test', {value!r}, 30)"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
    )
    read = subprocess.run(
        [sys.executable, "-c", setup + "print(cache.get('settings-test'))"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
    )
    return write, read


def test_cache_url_shares_the_dashboard_cache_between_processes(tmp_path):
    value = f"figure-{os.getpid()}"
    write, read = share_through_cache(tmp_path, value, CACHE_URL="redis://127.0.0.1:6379/15")
    assert write.returncode == 0 and read.returncode == 0, write.stderr + read.stderr
    assert read.stdout.strip() == value
    # Without it each process has its own: the second one renders again.
    _, alone = share_through_cache(tmp_path, value)
    assert alone.stdout.strip() == "None"
    bad, _ = share_through_cache(tmp_path, value, CACHE_URL="memcached://x")
    assert bad.returncode != 0 and "CACHE_URL must be a redis://" in bad.stderr
