import re
from dataclasses import dataclass
from typing import Literal

import pytest

from neuroplastic.runs.config import (
    ConfigError,
    apply_overrides,
    config_from_dict,
    config_hash,
    config_to_dict,
    config_to_yaml,
    parse_value,
)
from neuroplastic.runs.experiment import ExperimentConfig


@dataclass(frozen=True, kw_only=True)
class Toy(ExperimentConfig):
    lr: float = 0.1
    steps: int = 10
    hidden: tuple[int, ...] = (4, 3)
    optimizer: Literal["sgd", "adam"] = "sgd"
    flag: bool = False
    limit: int | None = None

    def __post_init__(self):
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


def test_overrides_parse_into_field_types():
    cfg = apply_overrides(Toy(), ["lr=1e-3", "steps=7", "hidden=5,6,7", "optimizer=adam", "flag=yes", "limit=3"])
    assert cfg == Toy(lr=1e-3, steps=7, hidden=(5, 6, 7), optimizer="adam", flag=True, limit=3)
    assert type(cfg.lr) is float and type(cfg.steps) is int
    assert apply_overrides(cfg, ["limit=none"]).limit is None


def test_unknown_key_lists_valid_keys_and_types():
    with pytest.raises(ConfigError) as info:
        apply_overrides(Toy(), ["nosuchkey=1"])
    message = str(info.value)
    assert "unknown key 'nosuchkey'" in message
    for key in (
        "lr: float",
        "steps: int",
        "hidden: comma-separated list of int",
        "optimizer: one of {'sgd', 'adam'}",
    ):
        assert key in message


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("lr=abc", "bad value for lr (float)"),
        ("steps=1.5", "bad value for steps (int)"),
        ("optimizer=rmsprop", "not one of"),
        ("flag=maybe", "not a boolean"),
        ("lr", "not of the form key=value"),
        ("lr=-1", "lr must be > 0"),
    ],
)
def test_bad_values_fail_with_the_reason(item, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        apply_overrides(Toy(), [item])


def test_all_problems_are_reported_together():
    with pytest.raises(ConfigError) as info:
        apply_overrides(Toy(), ["a=1", "lr=x"])
    assert "unknown key 'a'" in str(info.value) and "bad value for lr" in str(info.value)


def test_yaml_round_trip_and_type_checks():
    import yaml

    cfg = Toy(hidden=(9,), optimizer="adam", limit=2)
    assert config_from_dict(Toy, yaml.safe_load(config_to_yaml(cfg))) == cfg
    assert config_from_dict(Toy, {"lr": 1}).lr == 1.0
    with pytest.raises(ConfigError, match="bad value for steps"):
        config_from_dict(Toy, {"steps": "ten"})
    with pytest.raises(ConfigError, match="bad value for steps"):
        config_from_dict(Toy, {"steps": True})
    with pytest.raises(ConfigError, match="unknown key 'x'"):
        config_from_dict(Toy, {"x": 1})


def test_hash_depends_on_values_only():
    assert config_hash(Toy()) == config_hash(Toy())
    assert config_hash(Toy()) != config_hash(Toy(seed=1))
    assert config_hash(Toy()) != config_hash(Toy(hidden=(4,)))
    assert config_to_dict(Toy())["hidden"] == [4, 3]


def test_parse_value_rejects_unsupported_types():
    with pytest.raises(TypeError):
        parse_value("1", complex)
