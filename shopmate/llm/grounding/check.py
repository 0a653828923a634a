"""check_grounding: every claim of the output backed by the facts (or the template)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from shopmate.llm.grounding.claims import Claim, GroundingResult
from shopmate.llm.grounding.extraction import _BARE_BACKED, _names_in, _word_in, extract_claims
from shopmate.llm.grounding.numbers import normalize_text


def check_grounding(
    output: str,
    facts: Sequence[str],
    *,
    known_product_names: Iterable[str] = (),
) -> GroundingResult:
    """Accept ``output`` only if every claim in it is backed by ``facts``.

    ``facts`` are the lines the model was given (include the template: it is built from
    the same facts). ``known_product_names`` are catalog names the output may mention
    only when the facts do.
    """
    source = "\n".join(facts)
    fact_keys: set[str] = set()
    fact_values: set[str] = set()
    # Line by line: "total: 12.50" and "items: 3" on consecutive lines must not read as
    # "12.50 items".
    for claim in (c for line in source.splitlines() for c in extract_claims(line, facts_side=True)):
        fact_keys |= claim.keys
        fact_values |= claim.values
    for key in list(fact_keys):
        full_date = re.fullmatch(r"date:(\d{4})-(\d{2})-(\d{2})", key)
        if full_date:
            # A dated fact also backs the date said without its year, or the year alone.
            year, month, day = full_date.groups()
            fact_keys |= {f"date:{month}-{day}", f"year:{year}", f"month:{int(month)}"}
        elif key.startswith("date:"):
            fact_keys.add(f"month:{int(key[5:7])}")
    source_norm = normalize_text(source)

    unsupported: list[Claim] = []
    for claim in extract_claims(output):
        if claim.kind == "number":
            if not claim.values & fact_values:
                unsupported.append(claim)
            continue
        alternatives = set(claim.keys) | {
            f"num:{value}" for value in claim.values if claim.kind in _BARE_BACKED
        }
        if not alternatives & fact_keys:
            unsupported.append(claim)

    for name in _names_in(output):
        if normalize_text(name) not in source_norm and (
            normalize_text(name.replace(" ", "-")) not in source_norm
        ):
            unsupported.append(Claim("product_name", name, frozenset({f"name:{name}"})))
    output_norm = normalize_text(output)
    for name in known_product_names:
        name_norm = normalize_text(name)
        if (
            len(name_norm) >= 2
            and _word_in(name_norm, output_norm)
            and (name_norm not in source_norm)
        ):
            unsupported.append(Claim("product_name", name, frozenset({f"name:{name}"})))
    return GroundingResult(ok=not unsupported, unsupported=tuple(unsupported))
