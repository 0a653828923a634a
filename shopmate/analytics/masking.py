"""What of a shopper's words and ids may appear in the report.

Sender ids become an HMAC of a secret (REPORT_SECRET, else SESSION_SECRET): the same
conversation has the same key in every report made with that secret, and nobody
without it can tell which conversation it is. Texts are masked beyond what the tracker
store already hides (shopmate/privacy.py masks long digit runs): every digit (phone
numbers, order numbers, house numbers, postcodes), e-mail addresses, and the place
words of a Chinese address (省/市/区/路/号...).
"""

from __future__ import annotations

import hashlib
import hmac
import re

from shopmate.privacy import MASK, mask_all_digits

KEY_CHARS = 12
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "北京市朝阳区建国路" -> every place fragment ending in an address word.
CHINESE_PLACE = re.compile(
    r"[\u4e00-\u9fff*]{1,8}?(?:省|市|区|县|镇|乡|村|路|街|道|巷|弄|号|栋|楼|室)"
)
MAX_TEXT_CHARS = 120


def conversation_key(secret: str, sender_id: str) -> str:
    """A stable, secret-keyed stand-in for a sender id."""
    digest = hmac.new(secret.encode(), sender_id.encode(), hashlib.sha256).hexdigest()
    return digest[:KEY_CHARS]


def mask_text(text: str) -> str:
    """A shopper's message as the report may show it."""
    text = EMAIL.sub(lambda m: "***@***", text)
    text = mask_all_digits(text)
    # mask_all_digits keeps an order number's digits (A1234567): not here.
    text = re.sub(r"\d", MASK, text)
    text = CHINESE_PLACE.sub(lambda m: MASK * len(m.group()), text)
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"
