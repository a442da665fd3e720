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
