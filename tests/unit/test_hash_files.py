"""hash_files(): the digest of the files a glob matches, and cache.key in specs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from runwright.cachekey import FileHasher, cache_key
from runwright.errors import CacheKeyError, ExpressionError, SpecError
from runwright.spec import CompiledPipeline, parse_spec


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "docs" / "deep" / "er").mkdir(parents=True)
    (tmp_path / "docs" / "a.md").write_text("alpha\n")
    (tmp_path / "docs" / "b.md").write_text("beta\n")
    (tmp_path / "docs" / "deep" / "er" / "c.md").write_text("gamma\n")
    (tmp_path / "docs" / "notes.txt").write_text("not markdown\n")
    return tmp_path


def expected(root: Path, names: list[str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode() + b"\0" + hashlib.sha256((root / name).read_bytes()).digest())
    return digest.hexdigest()


def test_digest_of_sorted_paths_and_contents(tree: Path) -> None:
    got = FileHasher(tree)("docs/*.md")
    assert got == expected(tree, ["docs/a.md", "docs/b.md"])
    # Several patterns, overlapping: each file once.
    assert FileHasher(tree)("docs/b.md", "docs/*.md") == got


def test_double_star_matches_any_depth(tree: Path) -> None:
    got = FileHasher(tree)("docs/**/*.md")
    assert got == expected(tree, ["docs/a.md", "docs/b.md", "docs/deep/er/c.md"])


def test_content_and_names_both_count_but_mtime_does_not(tree: Path) -> None:
    hasher = FileHasher(tree)
    before = hasher("docs/*.md")
    os.utime(tree / "docs" / "a.md", (1, 1))
    assert hasher("docs/*.md") == before
    (tree / "docs" / "a.md").write_text("alpha!\n")
    changed = hasher("docs/*.md")
    assert changed != before
    (tree / "docs" / "a.md").write_text("alpha\n")
    assert hasher("docs/*.md") == before
    (tree / "docs" / "a.md").rename(tree / "docs" / "z.md")  # same bytes, another name
    assert hasher("docs/*.md") != before


def test_no_match_is_a_loud_error(tree: Path) -> None:
    with pytest.raises(CacheKeyError, match=r"hash_files\('src/\*\.py'\) matched no files"):
        FileHasher(tree)("src/*.py")
    with pytest.raises(CacheKeyError, match="matched no files"):
        FileHasher(tree)("docs")  # a directory is not a file


@pytest.mark.parametrize("pattern", ["../*", "docs/../../x", "/etc/passwd", "", 3])
def test_patterns_outside_the_pipeline_directory_are_refused(tree: Path, pattern: object) -> None:
    with pytest.raises(CacheKeyError, match=r"outside the pipeline's directory|glob patterns"):
        FileHasher(tree / "docs")(pattern)


def test_a_symlink_out_of_the_directory_is_refused(
    tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secret = tmp_path_factory.mktemp("elsewhere") / "secret.md"
    secret.write_text("outside\n")
    (tree / "docs" / "link.md").symlink_to(secret)
    with pytest.raises(CacheKeyError, match="links outside the pipeline's directory"):
        FileHasher(tree)("docs/*.md")


def test_runwrights_own_state_directory_is_never_hashed(tree: Path) -> None:
    before = FileHasher(tree)("**/*")
    (tree / ".runwright").mkdir()
    (tree / ".runwright" / "runwright.db").write_bytes(b"changes every run")
    assert FileHasher(tree)("**/*") == before


def test_the_user_key_is_added_to_the_default_key() -> None:
    def key(params: object = None, user_key: object = None) -> str:
        return cache_key(
            kind="python", version="1", params=params or {"a": 1}, code_version="c",
            user_key=user_key,
        )  # fmt: skip

    plain = cache_key(kind="python", version="1", params={"a": 1}, code_version="c")
    assert key() == plain  # no user key: the key existing cache entries have
    assert key(user_key="k1") not in (plain, key(user_key="k2"))
    assert key({"a": 2}, user_key="k1") != key(user_key="k1")
    with pytest.raises(CacheKeyError, match=r"cache\.key"):
        key(user_key=float("nan"))


# --- cache.key in a spec -----------------------------------------------------------------


def test_cache_key_templates_are_validated_and_rendered(tree: Path) -> None:
    loaded = parse_spec(
        """
name: x
inputs:
  n: {type: integer, default: 1}
steps:
  - id: a
    uses: shell
    cache: {key: "{{ hash_files('docs/*.md') }}-{{ inputs.n }}"}
    with: {run: "true"}
  - id: b
    uses: shell
    cache: {key: v1}
    with: {run: "true"}
  - id: c
    uses: shell
    with: {run: "true"}
"""
    )
    compiled = CompiledPipeline(loaded.pipeline)
    ctx = {"inputs": {"n": 1}, "steps": {}, "hash_files": FileHasher(tree)}
    assert compiled.uses_hash_files("a") and not compiled.uses_hash_files("b")
    assert compiled.render_cache_key("a", ctx) == expected(tree, ["docs/a.md", "docs/b.md"]) + "-1"
    assert compiled.render_cache_key("b", ctx) == "v1"
    assert compiled.render_cache_key("c", ctx) is None
    with pytest.raises(ExpressionError, match=r"step 'a' cache.key: hash_files\('docs/\*.md'\)"):
        compiled.render_cache_key("a", {**ctx, "hash_files": FileHasher(tree / "empty")})


@pytest.mark.parametrize(
    ("cache", "expected"),
    [
        (
            """{key: "{{ hash_file('x') }}"}""",
            "<string>:5:18: steps[0].cache.key: undefined variable 'hash_file'; "
            "did you mean 'hash_files'?",
        ),
        ("{key: v1, ttl: 3}", "<string>:5:22: steps[0].cache: unknown key 'ttl'; use 'key'"),
        ("{}", "<string>:5:12: steps[0].cache: missing required key 'key'; add key: ..."),
        ("often", "<string>:5:12: steps[0].cache: expected a boolean or a mapping, got 'often'"),
    ],
)
def test_cache_key_problems_are_located(cache: str, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(f"name: x\nsteps:\n  - id: a\n    uses: shell\n    cache: {cache}\n")
    [problem] = info.value.problems
    assert problem.startswith(expected)
