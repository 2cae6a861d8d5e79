"""Token prices for cost estimates: USD per million tokens (input, output), by model name.

The table holds OpenAI list prices as published for these models (check them before relying on
an estimate); ``--prices FILE`` (YAML or JSON: ``MODEL: {input: X, output: Y}``) overrides or adds
entries, e.g. for a hosted DeepSeek-R1 or your own GPU hours expressed per token. Models served
by your own endpoints or the embedded model are unpriced unless the file names them: their
cost is hardware time, not tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

from agents.specs import ModelSpec, parse_spec

PRICES: dict[str, tuple[float, float]] = {
    "o1": (15.0, 60.0),
    "o1-preview": (15.0, 60.0),
    "o1-mini": (1.1, 4.4),
    "o3": (2.0, 8.0),
    "o3-mini": (1.1, 4.4),
    "o4-mini": (1.1, 4.4),
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
}


class PriceError(ValueError):
    pass


def load_prices(path: str | None) -> dict[str, tuple[float, float]]:
    """The built-in table, updated from ``path``."""
    table = dict(PRICES)
    if path is None:
        return table
    import yaml

    try:
        raw = (
            yaml.safe_load(Path(path).read_text())
            if Path(path).suffix in (".yaml", ".yml")
            else json.loads(Path(path).read_text())
        )
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise PriceError(f"{path}: cannot read prices: {e}") from None
    if not isinstance(raw, dict):
        raise PriceError(f"{path}: expected a mapping of model -> {{input, output}}")
    for model, entry in raw.items():
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), int | float) for k in ("input", "output")):
            raise PriceError(f"{path}: {model}: needs numeric 'input' and 'output' (USD per million tokens)")
        table[str(model)] = (float(entry["input"]), float(entry["output"]))
    return table


def price_of(spec: str, table: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """A spec's price: its full spec string, else (for the OpenAI API) its model or a dated snapshot's base."""
    if spec in table:
        return table[spec]
    parsed: ModelSpec = parse_spec(spec)
    if parsed.model in table and parsed.kind == "openai":
        return table[parsed.model]
    if parsed.kind == "openai":
        # dated snapshots (o1-mini-2024-09-12) cost what their base model costs
        base = max((m for m in table if parsed.model.startswith(m + "-")), key=len, default=None)
        return table[base] if base else None
    return None


def cost(spec: str | None, tokens_in: int, tokens_out: int, table: dict[str, tuple[float, float]]) -> float | None:
    price = price_of(spec, table) if spec else None
    if price is None:
        return None
    return (tokens_in * price[0] + tokens_out * price[1]) / 1e6
