"""Slots the actions read and set (domain/*.yml declares them)."""

from __future__ import annotations

LANGUAGE_SLOT = "language"
# {"text": the words searched, "filter": ProductFilter.to_dict(), ...}
FILTER_SLOT = "search_filter"
# Ids of the products last shown, in display order ("第二个" is shown_products[1]).
SHOWN_SLOT = "shown_products"
# The product in focus: detail, add to cart, marketing copy.
FOCUS_SLOT = "product_code"
# True while the bot waits for a colour or size of the product being added to the cart.
CHOOSING_VARIANT_SLOT = "choosing_variant"
CATEGORY_SLOT = "product_category"
DETAILS_SLOT = "search_details"
ORDER_SLOT = "order_id"
PHONE_SLOT = "guest_phone"
# Order numbers a guest proved in this conversation (set only by the order forms).
VERIFIED_ORDERS_SLOT = "verified_orders"
