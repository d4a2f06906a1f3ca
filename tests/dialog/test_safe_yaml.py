"""The YAML loader for user files: plain data only, bounded depth and expanded size."""

from __future__ import annotations

import pytest
import yaml

from voicebot.dialog import safe_yaml


def test_plain_data_loads_with_yaml_12_booleans() -> None:
    data = safe_yaml.load("a: [1, 2.5, true, null]\nb: no\non: yes\nwhen: 2026-11-23\n")
    assert data == {"a": [1, 2.5, True, None], "b": "no", "on": "yes", "when": "2026-11-23"}


def test_anchors_within_the_limits_still_work() -> None:
    data = safe_yaml.load("base: &b {mode: speech}\none: *b\ntwo: {<<: *b, timeout: 3}\n")
    assert data["one"] == {"mode": "speech"} and data["two"] == {"mode": "speech", "timeout": 3}


def test_an_alias_bomb_is_refused_by_its_expanded_size() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    text = "\n".join(lines)
    assert len(text) < 600
    with pytest.raises(safe_yaml.UnsafeYaml, match="aliases are expanded"):
        safe_yaml.compose(text)
    with pytest.raises(safe_yaml.UnsafeYaml):
        safe_yaml.load(text)


@pytest.mark.parametrize("depth", [safe_yaml.MAX_DEPTH + 1, 100_000])
def test_deep_nesting_is_refused_before_recursion_runs_out(depth: int) -> None:
    with pytest.raises(safe_yaml.UnsafeYaml, match="nested deeper"):
        safe_yaml.load("[" * depth + "]" * depth)


@pytest.mark.parametrize(
    "text", ["!!python/object/apply:os.system [ls]", "!!binary aGk=", "!!set {a}", "!x 1"]
)
def test_only_plain_data_tags_are_accepted(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        safe_yaml.load(text)


def test_an_unhashable_key_is_a_yaml_error() -> None:
    with pytest.raises(yaml.YAMLError):
        safe_yaml.load("? [a, b]\n: c\n")
