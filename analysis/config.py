"""Settings: load config/config.yaml and check it against config/schema.yaml.

A wrong setting stops the run at parse time with one message per problem, naming
the key (as a dotted path) and what is allowed.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "config" / "schema.yaml"
CONFIG_PATH = ROOT / "config" / "config.yaml"


class ConfigError(ValueError):
    """One or more settings are not allowed."""


def load_schema(path: Path = SCHEMA_PATH) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _allowed(err: jsonschema.ValidationError) -> str:
    s = err.schema if isinstance(err.schema, dict) else {}
    parts = []
    if "enum" in s:
        parts.append("one of " + ", ".join(repr(v) for v in s["enum"]))
    if "type" in s:
        parts.append(f"type {s['type']}")
    if "pattern" in s:
        parts.append(f"matching {s['pattern']}")
    for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if bound in s:
            parts.append(f"{bound} {s[bound]}")
    if s.get("description"):
        parts.append(f"({s['description']})")
    return "; ".join(parts)


def _describe(err: jsonschema.ValidationError) -> str:
    key = _key(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted((err.schema.get("properties") or {}).keys())
        extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        where = "" if key == "(top level)" else f" under '{key}'"
        return (f"unknown setting{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}{where}; "
                f"allowed: {', '.join(allowed)}")
    if err.validator == "required":
        return f"'{key}': {err.message}"
    if err.validator == "propertyNames":
        return f"'{key}': key {err.instance!r} is not allowed; {_allowed(err)}"
    return f"'{key}' = {err.instance!r} is not allowed: {err.message}. Allowed: {_allowed(err)}"


def check_config(cfg: dict, schema: dict | None = None) -> list[str]:
    """All problems of a settings mapping, as messages (empty when valid)."""
    schema = schema or load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    problems = [_describe(e) for e in sorted(validator.iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path)))]
    if problems:
        return problems
    # Checks a JSON schema cannot express.
    try:
        _dt.date.fromisoformat(cfg["data_cut"])
    except ValueError:
        problems.append(f"'data_cut' = {cfg['data_cut']!r} is not a calendar date (YYYY-MM-DD)")
    levels = list(cfg["dose_levels"])
    for lvl in cfg["escalation"].get("titration_levels", []):
        if lvl not in levels:
            problems.append(f"'escalation.titration_levels' names {lvl!r}, which is not in dose_levels ({', '.join(levels)})")
    rp2d = cfg["escalation"].get("rp2d")
    if rp2d is not None and rp2d not in levels:
        problems.append(f"'escalation.rp2d' = {rp2d!r} is not in dose_levels ({', '.join(levels)})")
    doses = [cfg["dose_levels"][k] for k in levels]
    if doses != sorted(doses) or len(set(doses)) != len(doses):
        problems.append("'dose_levels' must increase strictly from the first level to the last")
    return problems


def validate_config(cfg: dict, schema: dict | None = None) -> dict:
    problems = check_config(cfg, schema)
    if problems:
        raise ConfigError("Invalid settings (config/config.yaml):\n" + "\n".join(f"  - {p}" for p in problems))
    return cfg


def load_config(path: Path | str = CONFIG_PATH, overrides: dict | None = None) -> dict:
    cfg = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if overrides:
        cfg = deep_merge(cfg, overrides)
    return validate_config(cfg)


def deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def schema_properties_without_description(schema: dict, path: str = "") -> list[str]:
    """Every property of the schema must be described; returns those that are not."""
    missing = []
    for name, sub in (schema.get("properties") or {}).items():
        p = f"{path}.{name}" if path else name
        if not isinstance(sub, dict) or not sub.get("description"):
            missing.append(p)
        if isinstance(sub, dict):
            missing += schema_properties_without_description(sub, p)
    ap = schema.get("additionalProperties")
    if isinstance(ap, dict) and ap.get("type") and not ap.get("description"):
        missing.append(f"{path}.*")
    return missing
