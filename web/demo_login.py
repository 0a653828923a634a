"""Demo-only "login": pick a seeded customer, get a token signed server-side.

A real shop signs the token in its own backend when the shopper logs in; this stands
in for that so the demo page can show the logged-in experience. The secret
(CUSTOMER_TOKEN_SECRET) stays on the server; the browser only ever sees tokens.
Enabled by `web/server.py --demo-login` (which `make run` passes), served only on a
loopback address and refused with SHOPMATE_PROFILE=production: anyone who can reach it
can act as one of the listed demo customers, and only as them.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopmate.db.session import Database
from shopmate.identity import CustomerTokens
from shopmate.orders import OrderService
from shopmate.settings import get_settings

DEMO_CUSTOMERS = 6


@dataclass
class DemoLogin:
    tokens: CustomerTokens
    database: Database

    @classmethod
    def from_settings(cls) -> DemoLogin:
        settings = get_settings()
        return cls(CustomerTokens(settings.customer_token_secret), Database(settings.database_url))

    def customers(self) -> list[dict[str, object]]:
        """A few seeded customers with their latest order numbers (for trying it out)."""
        return [
            {"id": c.id, "name": c.name, "orders": c.order_numbers}
            for c in OrderService(self.database).sample_customers(DEMO_CUSTOMERS)
        ]

    def listed_ids(self) -> set[int]:
        listed = OrderService(self.database).sample_customers(DEMO_CUSTOMERS, orders_each=0)
        return {customer.id for customer in listed}

    def token_for(self, customer_id: int, conversation: str) -> str | None:
        """A token for a customer the page lists, for that conversation only; None for
        any other id, whether or not it exists (the answer tells nothing)."""
        if customer_id not in self.listed_ids():
            return None
        return self.tokens.sign(customer_id, conversation)
