"""The one settings object: defaults from data/defaults.toml, overridden by the user's config.toml."""

from __future__ import annotations

import math
import os
import tomllib
import warnings
from dataclasses import dataclass, fields, replace
from pathlib import Path

import platformdirs

from assistant.datafiles import DATA_DIR

APP_NAME = "massage-qa"


class ConfigError(ValueError):
    """A config file that cannot be used, with a one-line reason."""


@dataclass(frozen=True)
class Config:
    """All tunable settings; field names are `<section>_<key>` of defaults.toml."""

    analysis_spell_min_length: int
    analysis_spell_cutoff: float
    passages_max_words: int
    passages_parallel_min_chars: int
    bm25_k1: float
    bm25_b: float
    bm25_epsilon: float
    tfidf_sublinear_tf: bool
    lsa_components: int
    lsa_exact_max_cells: int
    lsa_fit_max_passages: int
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
    router_oos_over_condition: float
    router_topic_confidence: float
    router_C: float
    router_smalltalk_confidence: float
    router_smalltalk_unasked: float
    router_reply_min_similarity: float
    router_learned_scope: bool
    message_story_min_words: int
    message_refers_back_max_words: int
    message_points_back_max_words: int
    message_part_min_words: int
    conversation_follow_up_max_words: int
    conversation_pronoun_max_words: int
    conversation_short_max_words: int
    conversation_take_back_named: float
    answer_passages_considered: int
    answer_min_sentences: int
    answer_max_sentences: int
    answer_relative_cutoff: float
    answer_learned_selector: bool
    answer_learned_order: bool
    answer_padding_below: float
    answer_padding_min_shown: int
    answer_padding_min_shown_for_intent: int
    answer_key_prior_weight: float
    answer_min_sentence_words: int
    answer_near_repeat: float
    answer_overlap_weight: float
    answer_context_weight: float
    answer_heading_weight: float
    answer_cue_weight: float
    answer_passage_weight: float
    answer_cue_saturation: int
    answer_faq_opening_sentences: int
    answer_faq_opening_bonus: float
    chat_rated_questions: str

    def index_settings(self) -> dict:
        """The settings that shape the built index (part of its fingerprint)."""
        keys = ("analysis_", "passages_", "bm25_", "tfidf_", "lsa_", "router_C")
        how_not_what = {"passages_parallel_min_chars"}  # how the build runs, not what it makes
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name.startswith(keys) and f.name not in how_not_what}

    def with_overrides(self, **changes) -> "Config":
        return replace(self, **changes)


class ConfigWarning(UserWarning):
    """A config file that is usable but has something to fix (an unknown key), with a one-line reason."""


# What each setting may be (inclusive bounds; an open bound is None). Settings not named here must
# be finite and not negative; every float must be a real number (not nan or inf).
RANGES: dict[str, tuple[float | None, float | None]] = {
    "analysis_spell_min_length": (1, 100), "analysis_spell_cutoff": (0.0, 1.0),
    "passages_max_words": (1, 10_000),
    "bm25_k1": (0.0, 100.0), "bm25_b": (0.0, 1.0), "bm25_epsilon": (0.0, 10.0),
    "lsa_components": (1, 1_000), "lsa_fit_max_passages": (2, None), "retrieval_k": (1, 100), "retrieval_bm25_weight": (0.0, 1.0),
    "router_min_confidence": (0.0, 1.0), "router_oos_confidence": (0.0, 1.0), "router_oos_confidence_familiar": (0.0, 1.0),
    "router_oos_over_condition": (0.0, 1.0),
    "router_topic_confidence": (0.0, 1.0), "router_smalltalk_confidence": (0.0, 1.0),
    "router_smalltalk_unasked": (0.0, 1.0), "conversation_take_back_named": (0.0, 1.0),
    "router_reply_min_similarity": (0.0, 1.0), "router_C": (1e-6, 1e6),
    "answer_passages_considered": (1, 100), "answer_min_sentences": (1, 100), "answer_max_sentences": (1, 100),
    "answer_relative_cutoff": (0.0, 1.0), "answer_padding_below": (0.0, 1.0), "answer_padding_min_shown": (1, 1_000),
    "answer_padding_min_shown_for_intent": (1, 1_000), "answer_key_prior_weight": (0.0, 100.0),
}
CHOICES = {"retrieval_mode": ("hybrid", "bm25", "tfidf")}  # retrieval.MODES (config imports nothing of the package)


def _flatten(doc: dict, origin: str, names: dict[str, str] | None = None) -> dict:
    flat = {}
    for section, values in doc.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: '{section}' must be a [section] (see defaults.toml for the layout)")
        for key, value in values.items():
            flat[f"{section}_{key}"] = value
            if names is not None:
                names[f"{section}_{key}"] = f"[{section}] {key}"
    return flat


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def validate(values: dict, origin: str, names: dict[str, str] | None = None) -> None:
    """Raise ConfigError naming the first setting whose value is out of range."""
    names = names or {}
    for key, value in values.items():
        name = names.get(key, key)
        if key in CHOICES:
            if value not in CHOICES[key]:
                raise ConfigError(f"{origin}: {name} = {value!r}: choose one of {', '.join(CHOICES[key])}")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value):
            raise ConfigError(f"{origin}: {name} = {value}: must be a number (not nan or inf)")
        low, high = RANGES.get(key, (0, None))
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ConfigError(f"{origin}: {name} = {value} is out of range: must be {bounds}")
    if values.get("answer_min_sentences", 0) > values.get("answer_max_sentences", math.inf):
        raise ConfigError(f"{origin}: [answer] min_sentences is above max_sentences; lower it or raise max_sentences")


def _user_file() -> tuple[Path, bool]:
    """The user's config file, and whether it was named explicitly ($MASSAGE_QA_CONFIG)."""
    env = os.environ.get("MASSAGE_QA_CONFIG")
    return (Path(env), True) if env else (user_config_path(), False)


def load_config(path: Path | None = None) -> Config:
    """Defaults, then the user's config file (if any) on top, checked: a wrong type or an
    out-of-range value is a ConfigError naming the file and setting; an unknown key, a
    ConfigWarning (the rest of the file still counts)."""
    text = (DATA_DIR / "defaults.toml").read_text(encoding="utf-8")
    values = _flatten(tomllib.loads(text), "defaults.toml")
    explicit = path is not None
    if path is None:
        path, explicit = _user_file()
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ConfigError(f"config {path} is not a file; give a config.toml file")
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file {path} does not exist (set by $MASSAGE_QA_CONFIG or the caller)")
        validate(values, "defaults.toml")
        return Config(**values)
    names: dict[str, str] = {}
    try:
        user = _flatten(tomllib.loads(path.read_bytes().decode("utf-8-sig")), str(path), names)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix it or remove it") from None
    fields_ = {f.name for f in fields(Config)}
    for key in sorted(set(user) - set(values) - fields_):
        warnings.warn(ConfigWarning(f"{path}: unknown setting {names[key]} ignored (defaults.toml lists the settings)"),
                      stacklevel=2)
        del user[key]
    for key, value in user.items():
        default = values.get(key)
        if default is not None and type(value) is not type(default) and not (isinstance(default, float) and type(value) is int):
            raise ConfigError(f"{path}: {names[key]} = {value!r} should be {type(default).__name__}")
    values.update(user)
    validate(values, str(path), names)
    return Config(**values)
