"""What a parsed query gives the search: filters and the free text for retrieval."""

from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class ParsedQuery:
    """What one message asks for. Codes are the catalog's stored values."""

    category: str | None = None
    colors: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    price_min_cents: int | None = None
    price_max_cents: int | None = None
    cheaper: bool = False
    pricier: bool = False
    other_color: bool = False
    in_stock_only: bool = False
    terms: str = ""

    def has_filters(self) -> bool:
        """True when something can filter the catalog (attributes or price bounds)."""
        return bool(
            self.category
            or self.colors
            or self.sizes
            or self.brands
            or self.materials
            or self.styles
            or self.price_min_cents is not None
            or self.price_max_cents is not None
        )

    def is_empty(self) -> bool:
        """Nothing to search on: no filter, no cue and no free text ("推荐", "hi")."""
        return not (
            self.has_filters()
            or self.cheaper
            or self.pricier
            or self.other_color
            or self.in_stock_only
            or self.terms
        )
