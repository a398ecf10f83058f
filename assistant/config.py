"""The one settings object: defaults from data/defaults.toml, overridden by the user's config.toml."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path

import platformdirs

APP_NAME = "massage-qa"


class ConfigError(ValueError):
    """A config file that cannot be used, with a one-line reason."""


@dataclass(frozen=True)
class Config:
    """All tunable settings; field names are `<section>_<key>` of defaults.toml."""

    analysis_spell_min_length: int
    analysis_spell_cutoff: float
    passages_min_words: int
    passages_max_words: int
    bm25_k1: float
    bm25_b: float
    bm25_epsilon: float
    tfidf_sublinear_tf: bool
    lsa_components: int
    retrieval_mode: str
    retrieval_k: int
    retrieval_bm25_weight: float
    retrieval_semantic_weight: float
    retrieval_intent_boost: float
    retrieval_faq_boost: float
    retrieval_faq_threshold: float
    retrieval_faq_favoured: float
    router_min_confidence: float
    router_abstain_score: float
    router_oos_confidence: float
    router_oos_max_score: float
    router_oos_confidence_familiar: float
    router_oos_guess_max_score: float
    router_topic_confidence: float
    router_C: float
    answer_passages_considered: int
    answer_min_sentences: int
    answer_max_sentences: int
    answer_relative_cutoff: float
    chat_rated_questions: str

    def index_settings(self) -> dict:
        """The settings that shape the built index (part of its fingerprint)."""
        keys = ("analysis_", "passages_", "bm25_", "tfidf_", "lsa_", "router_C")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name.startswith(keys)}

    def with_overrides(self, **changes) -> "Config":
        return replace(self, **changes)


def _flatten(doc: dict, origin: str) -> dict:
    flat = {}
    for section, values in doc.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: '{section}' must be a [section]")
        for key, value in values.items():
            flat[f"{section}_{key}"] = value
    return flat


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """Defaults, then the user's config file (if any) on top."""
    text = resources.files("assistant.data").joinpath("defaults.toml").read_text(encoding="utf-8")
    values = _flatten(tomllib.loads(text), "defaults.toml")
    path = path or Path(os.environ.get("MASSAGE_QA_CONFIG", user_config_path()))
    if path.is_file():
        try:
            user = _flatten(tomllib.loads(path.read_text(encoding="utf-8")), str(path))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        unknown = sorted(set(user) - set(values))
        if unknown:
            raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
        for key, value in user.items():
            if type(value) is not type(values[key]) and not (isinstance(values[key], float) and isinstance(value, int)):
                raise ConfigError(f"{path}: {key} should be {type(values[key]).__name__}")
        values.update(user)
    return Config(**values)
