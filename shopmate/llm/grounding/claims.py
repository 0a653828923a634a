"""What the grounding check finds in a text: claims, and the verdict on them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One checkable statement found in a text.

    ``keys`` are the normalised readings of the claim ("money:12.5"); a claim is backed
    when the facts have any of them. ``values`` are its plain numbers, which back
    bare numbers in the output.
    """

    kind: str
    text: str
    keys: frozenset[str]
    values: frozenset[str] = frozenset()


@dataclass(frozen=True)
class GroundingResult:
    ok: bool
    unsupported: tuple[Claim, ...] = ()
