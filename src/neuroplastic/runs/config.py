"""Typed experiment configs: ``--set key=value`` parsing, validation, YAML round trip and hashing.

A config is a frozen dataclass whose fields have simple types: ``int``, ``float``, ``str``, ``bool``,
``Literal[...]``, ``tuple[T, ...]`` of those, or ``T | None``. Every error names the valid keys and types.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from collections.abc import Iterable
from typing import Any, Literal, TypeVar, Union

import yaml

C = TypeVar("C")

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


class ConfigError(ValueError):
    """An unknown key, a value of the wrong type, or a value the config rejects."""


def field_types(cls: type) -> dict[str, Any]:
    """The resolved type of every field of the config dataclass ``cls``, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def type_name(tp: Any) -> str:
    """A short human-readable name for a field type, e.g. ``tuple[int, ...]`` or ``one of {'sgd', 'adam'}``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return "one of {" + ", ".join(repr(a) for a in args) + "}"
    if origin is tuple:
        return f"comma-separated list of {type_name(args[0])}"
    if _is_optional(tp):
        return f"{type_name(_strip_optional(tp))} or none"
    return getattr(tp, "__name__", str(tp))


def describe_fields(cls: type) -> str:
    """One line per field: ``name: type (default)``, used in error messages and ``neuroplastic describe``."""
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    return "\n".join(f"  {name}: {type_name(tp)} (default {defaults[name]!r})" for name, tp in field_types(cls).items())


def _is_optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType) and type(None) in typing.get_args(tp)


def _strip_optional(tp: Any) -> Any:
    rest = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(rest) != 1:
        raise TypeError(f"unsupported union type {tp}")
    return rest[0]


def parse_value(text: str, tp: Any) -> Any:
    """Parse the command-line string ``text`` into a value of type ``tp`` (raises ``ValueError``)."""
    if _is_optional(tp):
        return None if text.strip().lower() in {"none", "null", ""} else parse_value(text, _strip_optional(tp))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        for choice in args:
            if str(choice) == text:
                return choice
        raise ValueError(f"{text!r} is not one of {list(args)}")
    if origin is tuple:
        items = [item for item in text.replace(" ", "").split(",") if item]
        return tuple(parse_value(item, args[0]) for item in items)
    if tp is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ValueError(f"{text!r} is not a boolean (true/false)")
    if tp is int:
        return int(text)
    if tp is float:
        return float(text)
    if tp is str:
        return text
    raise TypeError(f"unsupported config field type {tp}")


def coerce_value(value: Any, tp: Any) -> Any:
    """Check a value read from YAML/JSON against ``tp`` and convert lists to tuples (raises ``ValueError``)."""
    if _is_optional(tp):
        return None if value is None else coerce_value(value, _strip_optional(tp))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{value!r} is not one of {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ValueError(f"{value!r} is not a list")
        return tuple(coerce_value(item, args[0]) for item in value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ValueError(f"{value!r} is not a {tp.__name__}")
    return value


def apply_overrides(config: C, overrides: list[str]) -> C:
    """Return ``config`` with every ``key=value`` in ``overrides`` applied; all errors are reported together."""
    types_ = field_types(type(config))
    changes: dict[str, Any] = {}
    given: dict[str, str] = {}
    problems: list[str] = []
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep:
            problems.append(f"{item!r} is not of the form key=value")
        elif key not in types_:
            problems.append(f"unknown key {key!r}{did_you_mean(key, types_)}")
        elif key in given:
            problems.append(f"{key} is given twice ({given[key]!r} and {item!r}): give it once")
        else:
            given[key] = item
            try:
                changes[key] = parse_value(text, types_[key])
            except ValueError as err:
                problems.append(f"bad value for {key} ({type_name(types_[key])}): {err}")
    if problems:
        raise ConfigError(_problem_message(type(config), problems))
    return _replace(config, changes)


def config_from_dict(cls: type[C], values: dict[str, Any]) -> C:
    """Build a ``cls`` from plain data (e.g. a ``config.yaml``), checking keys and types."""
    types_ = field_types(cls)
    problems = [f"unknown key {key!r}{did_you_mean(key, types_)}" for key in values if key not in types_]
    coerced = {}
    for key, value in values.items():
        if key in types_:
            try:
                coerced[key] = coerce_value(value, types_[key])
            except ValueError as err:
                problems.append(f"bad value for {key} ({type_name(types_[key])}): {err}")
    if problems:
        raise ConfigError(_problem_message(cls, problems))
    return _construct(cls, coerced)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain data for YAML/JSON: tuples become lists."""
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in ((f.name, getattr(config, f.name)) for f in dataclasses.fields(config))
    }


def config_to_yaml(config: Any) -> str:
    """The resolved config as YAML, fields in declaration order."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False, default_flow_style=False)


def config_hash(config: Any) -> str:
    """A short stable hash of the config's values (10 hex digits), used to name run folders."""
    canonical = json.dumps(config_to_dict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def _replace(config: C, changes: dict[str, Any]) -> C:
    try:
        return dataclasses.replace(config, **changes)
    except ValueError as err:
        raise ConfigError(f"invalid config for {type(config).__name__}: {err}") from err


def _construct(cls: type[C], values: dict[str, Any]) -> C:
    try:
        return cls(**values)
    except ValueError as err:
        raise ConfigError(f"invalid config for {cls.__name__}: {err}") from err


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` to a misspelt ``name``, or an empty string."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _problem_message(cls: type, problems: list[str]) -> str:
    return (
        f"invalid config for {cls.__name__}:\n"
        + "\n".join(f"  - {p}" for p in problems)
        + f"\nvalid keys and types:\n{describe_fields(cls)}"
    )
