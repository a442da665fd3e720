import json

from runwright.redaction import MASK, Redactor


def test_secret_looking_env_values_are_masked_everywhere() -> None:
    env = {
        "OPENAI_API_KEY": "sk-canary-123456",
        "HOME": "/home/someone-long",
        "GH_TOKEN": 'ghp_quote"d-secret',
    }
    r = Redactor.from_env(env)
    text = "key sk-canary-123456 home /home/someone-long"
    assert r.redact(text) == f"key {MASK} home /home/someone-long"
    serialised = json.dumps({"out": 'x ghp_quote"d-secret y'})
    assert "secret" not in r.redact(serialised)
    assert json.loads(r.redact(serialised)) == {"out": f"x {MASK} y"}


def test_short_values_and_extra_names() -> None:
    r = Redactor.from_env(
        {"MY_KEY": "short", "PLAIN": "not-a-secret-by-name"}, extra_names=["PLAIN"]
    )
    assert r.redact("short not-a-secret-by-name") == f"short {MASK}"
    assert not Redactor([])


CANARY = "canary-0123456789abcdef-SECRET-zz"  # 33 characters


def fragments(secret: str, size: int = 8) -> list[str]:
    """Every ``size``-character piece of ``secret``: none may survive masking."""
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def test_a_stream_cut_anywhere_inside_a_secret_is_masked_whole() -> None:
    r = Redactor([CANARY])
    text = f"start {CANARY} middle {CANARY}{CANARY} end"
    for cut in range(1, len(text)):
        for second in (cut, min(len(text), cut + 3), min(len(text), cut + 17)):
            masker = r.stream()
            pieces = [text[:cut], text[cut:second], text[second:]]
            got = "".join(masker.feed(p) for p in pieces) + masker.flush()
            assert got == r.redact(text) == f"start {MASK} middle {MASK}{MASK} end"


def test_a_stream_holds_back_at_most_the_longest_secret() -> None:
    r = Redactor([CANARY, "other-secret-1"])
    masker = r.stream()
    emitted = masker.feed("x" * 100)
    assert emitted == "x" * (100 - (len(CANARY) - 1))
    assert masker.flush() == "x" * (len(CANARY) - 1)
    assert Redactor([]).stream().feed("plain") == "plain"  # nothing to hold back


def test_fragment_helper_sees_every_eight_characters() -> None:
    found = fragments(CANARY)
    assert len(found) == len(CANARY) - 7 and all(len(f) == 8 for f in found)
