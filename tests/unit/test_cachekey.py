import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runwright.cachekey import cache_key, canonical_json
from runwright.errors import CacheKeyError

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_key_does_not_depend_on_mapping_order(params: dict[str, object]) -> None:
    reordered = dict(reversed(list(params.items())))
    assert cache_key(kind="k", version="1", params=params, code_version=None) == cache_key(
        kind="k", version="1", params=reordered, code_version=None
    )


def test_key_changes_with_every_component() -> None:
    base = {"kind": "python", "version": "1", "params": {"a": 1}, "code_version": "x"}
    key = cache_key(**base)  # type: ignore[arg-type]
    for field, other in (
        ("kind", "shell"),
        ("version", "2"),
        ("params", {"a": 2}),
        ("code_version", "y"),
    ):
        assert cache_key(**{**base, field: other}) != key  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [math.nan, math.inf, {1, 2}, object(), b"bytes", {1: "x"}])
def test_uncomputable_key_is_a_loud_error(bad: object) -> None:
    with pytest.raises(CacheKeyError) as info:
        cache_key(kind="k", version="1", params={"value": bad}, code_version=None)
    assert "with.value" in str(info.value) or "non-string key" in str(info.value)


def test_canonical_json_is_compact_sorted_and_unicode() -> None:
    assert canonical_json({"b": 1, "a": ["é", 2.5]}) == '{"a":["é",2.5],"b":1}'
