"""What every platform's output channel shares: ShopMate's payloads (shopmate/payloads.py)
intercepted before Rasa's default handling, product cards of one reply collected into a
carousel, and the short button ids of platforms that bound a button's data."""

from __future__ import annotations

from typing import Any

from addons.settings import shop_public_url
from shopmate import payloads


class RichOutputMixin:
    """Put before a Rasa OutputChannel class. A bot message whose `custom` is a ShopMate
    payload goes to `send_shopmate` instead of Rasa's handling (its text line is the
    payload's fallback, not a second message); product cards are collected and sent as
    one carousel when the last has arrived. Everything else is Rasa's as before."""

    def _carousel(self) -> payloads.Carousel:
        collected = getattr(self, "_shopmate_carousel", None)
        if collected is None:
            collected = payloads.Carousel()
            self._shopmate_carousel = collected
        return collected

    # Product images and pages the catalog stores as paths are made absolute with it.
    shop_url: str | None = None

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        payload = payloads.extract(message.get("custom"))
        if payload is None:
            payload = payloads.rating_from_buttons(
                message.get("buttons") or message.get("quick_replies"), message.get("language")
            )
        if payload is None:
            await super().send_response(recipient_id, message)  # type: ignore[misc]
            return
        if payload["type"] == "product_card":
            complete = self._carousel().add(payload)
            if complete is None:
                return
            payload = complete
        base = self.shop_url if self.shop_url is not None else shop_public_url()
        payload = payloads.with_absolute_urls(payload, base)
        # A carousel's text lines are its cards; other payloads keep their line.
        text = "" if payload["type"] == "carousel" else message.get("text") or ""
        await self.send_shopmate(recipient_id, payload, text)

    async def flush_shopmate(self, recipient_id: str) -> None:
        """Send a carousel whose last card never came (call at the end of a turn)."""
        pending = self._carousel().pending()
        if pending is not None:
            base = self.shop_url if self.shop_url is not None else shop_public_url()
            await self.send_shopmate(recipient_id, payloads.with_absolute_urls(pending, base), "")

    async def send_shopmate(self, recipient_id: str, payload: dict[str, Any], text: str) -> None:
        """Render `payload` for this platform; `text` is the response's own line. The
        default sends the payload as plain text, which every channel can show."""
        await self.send_text_message(  # type: ignore[attr-defined]
            recipient_id, payloads.as_text(payload) or text
        )
