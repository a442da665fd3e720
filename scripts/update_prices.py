"""Regenerate src/runwright/costs/prices.json from the `genai-prices` package.

runwright does not depend on genai-prices at run time (its import costs 0.7 s and
brings a second HTTP stack); its maintained snapshot is the source of our table.
Run by a maintainer: ``pip install genai-prices && python scripts/update_prices.py``.
Only plain per-token prices (input, output, cached input) of the providers below are
kept; models matched by equality or prefix; tiered prices keep their base tier.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from genai_prices import data_snapshot, types

PROVIDERS = ("openai", "anthropic", "deepseek", "groq", "mistral", "google", "x-ai")
OUT = Path(__file__).resolve().parent.parent / "src" / "runwright" / "costs" / "prices.json"


def _terms(clause: Any, out: dict[str, list[str]]) -> None:
    if isinstance(clause, types.ClauseEquals):
        out["equals"].append(clause.equals)
    elif isinstance(clause, types.ClauseStartsWith):
        out["prefixes"].append(clause.starts_with)
    elif isinstance(clause, types.ClauseOr):
        for c in clause.or_:
            _terms(c, out)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, types.TieredPrices):
        value = value.base
    return float(Decimal(value))


def _current(prices: Any) -> Any:
    if isinstance(prices, list):  # conditional prices: the last one without an end applies
        return prices[-1].prices
    return prices


def main() -> None:
    snap = data_snapshot.get_snapshot()
    providers: dict[str, Any] = {}
    for p in snap.providers:
        if p.id not in PROVIDERS:
            continue
        models = []
        for m in p.models:
            price = _current(m.prices)
            inp, outp = _num(price.input_mtok), _num(price.output_mtok)
            if inp is None or outp is None:
                continue
            terms: dict[str, list[str]] = {"equals": [], "prefixes": []}
            _terms(m.match, terms)
            if not terms["equals"] and not terms["prefixes"]:
                terms["equals"].append(m.id)
            models.append(
                {
                    "id": m.id,
                    **terms,
                    "input_per_mtok": inp,
                    "output_per_mtok": outp,
                    "cached_input_per_mtok": _num(price.cache_read_mtok),
                }
            )
        providers[p.id] = {"api_pattern": p.api_pattern, "models": models}
    data = {
        "source": f"genai-prices {version('genai-prices')}",
        "generated": datetime.now(UTC).date().isoformat(),
        "providers": providers,
    }
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({sum(len(p['models']) for p in providers.values())} models)")


if __name__ == "__main__":
    main()
