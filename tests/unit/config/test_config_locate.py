"""The TOML key locator: positions survive multi-line strings, quoted keys, array tables."""

from __future__ import annotations

import tomllib

from runwright.config.locate import Spot, TomlLocator

TEXT = '''\
title = """
[not.a.table]
fake = 1
"""
[providers."my.vllm"]
base_url = "http://x/v1"   # trailing comment
  timeout = 3

[[items]]
name = "a"
[[items]]
name = "b"
inline = { a = 1, b = { c = 2 } }
dotted.key = 5
'''


def test_positions_of_keys_and_tables() -> None:
    tomllib.loads(TEXT)  # the fixture is valid TOML
    loc = TomlLocator(TEXT)
    assert loc.exact(("title",)) == Spot(1, 1)
    # Lines inside the multi-line string are not keys or tables.
    assert loc.exact(("not", "a", "table")) is None
    assert loc.exact(("fake",)) is None
    assert loc.exact(("providers", "my.vllm")) == Spot(5, 2)
    assert loc.exact(("providers", "my.vllm", "base_url")) == Spot(6, 1)
    assert loc.exact(("providers", "my.vllm", "timeout")) == Spot(7, 3)
    assert loc.exact(("items", 0, "name")) == Spot(10, 1)
    assert loc.exact(("items", 1, "name")) == Spot(12, 1)
    assert loc.exact(("items", 1, "dotted", "key")) == Spot(14, 1)


def test_values_inside_inline_tables_are_written_at_their_holder() -> None:
    loc = TomlLocator(TEXT)
    assert loc.written(("items", 1, "inline", "b", "c")) == Spot(13, 1, inline=True)
    # A key that is not written anywhere is a default, even under a written table.
    assert loc.written(("providers", "my.vllm", "headers")) is None
    # nearest() is for errors: the closest written ancestor.
    assert loc.nearest(("providers", "my.vllm", "headers")) == Spot(5, 2)
