"""Reads a delivery address the shopper typed in one message.

Chinese addresses run from large to small ("浙江省杭州市西湖区文三路 1 号"), English ones
from small to large, separated by commas ("12 Main St, Springfield, IL 62704"). A
phone number or a postal code anywhere in the text is taken out and kept apart;
whatever is not recognised is left to the shopper to confirm, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MUNICIPALITIES = ("北京", "上海", "天津", "重庆")
CN_PHONE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d{9})(?!\d)")
CN_POSTAL = re.compile(r"(?<!\d)(\d{6})(?!\d)")
CN_REGION = re.compile(r"^(.{2,8}?(?:省|自治区|特别行政区))")
CN_CITY = re.compile(r"^(.{2,8}?(?:市|自治州|地区|盟))")
CN_NAME = re.compile(r"(?:收件人|收货人)?[:：]?\s*([\u4e00-\u9fff]{2,4})\s*$")
CN_STREET_HINT = re.compile(r"[路街道巷弄号村镇乡区县楼栋室]|\d")
EN_POSTAL = re.compile(
    r"\b(\d{5}(?:-\d{4})?|[A-Z]\d[A-Z]\s?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})\b"
)
EN_PHONE = re.compile(r"(?<!\d)\+?\d[\d\s\-()]{8,}\d(?!\d)")
MAX_LENGTH = 200


@dataclass(frozen=True)
class ParsedAddress:
    region: str
    city: str
    line1: str
    postal_code: str = ""
    recipient: str | None = None
    phone: str | None = None

    def one_line(self) -> str:
        """The address as the shopper will read it back when confirming."""
        if self.line1.isascii():
            parts = [self.line1, self.city, f"{self.region} {self.postal_code}".strip()]
            return ", ".join(p for p in parts if p)
        city = "" if self.city == self.region else self.city
        text = f"{self.region}{city}{self.line1}"
        if self.postal_code:
            text += f"（{self.postal_code}）"
        return f"{text}，{self.recipient}" if self.recipient else text


def parse_address(text: str) -> ParsedAddress | None:
    """The address in `text`, or None when it lacks a city or a street line."""
    text = " ".join(str(text or "").split())[:MAX_LENGTH]
    if not text:
        return None
    if re.search(r"[\u4e00-\u9fff]", text):
        return _parse_chinese(text)
    return _parse_english(text)


def _parse_chinese(text: str) -> ParsedAddress | None:
    phone = None
    if match := CN_PHONE.search(text):
        phone = match.group(1)
        text = text[: match.start()] + " " + text[match.end() :]
    postal = ""
    if match := CN_POSTAL.search(text):
        postal = match.group(1)
        text = text[: match.start()] + " " + text[match.end() :]
    text = re.sub(r"^(?:新地址|地址|改成|改为|改到|寄到|送到)[是为:：\s]*", "", text.strip())
    recipient = None
    # A name is written after the address, often with a comma ("…1号，李四").
    head, _, tail = text.replace("，", ",").rpartition(",")
    candidate = tail if head else ""
    name = CN_NAME.fullmatch(candidate.strip()) if candidate else None
    if name and not CN_STREET_HINT.search(name.group(1)):
        recipient, text = name.group(1), head
    text = text.replace(",", " ").replace(" ", "")
    for city in MUNICIPALITIES:
        if text.startswith(city):
            rest = text[len(city) :].removeprefix("市")
            return _chinese(f"{city}市", f"{city}市", rest, postal, recipient, phone)
    region_match = CN_REGION.match(text)
    if region_match is None:
        return None
    region = region_match.group(1)
    rest = text[len(region) :]
    city_match = CN_CITY.match(rest)
    if city_match is None:
        return None
    return _chinese(
        region, city_match.group(1), rest[len(city_match.group(1)) :], postal, recipient, phone
    )


def _chinese(
    region: str, city: str, line1: str, postal: str, recipient: str | None, phone: str | None
) -> ParsedAddress | None:
    if len(line1) < 4 or not CN_STREET_HINT.search(line1):
        return None
    return ParsedAddress(region, city, line1, postal, recipient, phone)


def _parse_english(text: str) -> ParsedAddress | None:
    text = re.sub(
        r"^(?:(?:the\s+)?new\s+address\s*(?:is)?|change\s+it\s+to|send\s+it\s+to)[:\s]*",
        "",
        text,
        flags=re.IGNORECASE,
    )
    phone = None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    kept = []
    for part in parts:
        if EN_PHONE.fullmatch(part):
            phone = re.sub(r"[^\d+]", "", part)
        elif part.lower() not in {"usa", "us", "united states", "uk", "united kingdom", "canada"}:
            kept.append(part)
    if len(kept) < 3 or not re.search(r"\d", kept[0]):
        return None
    line1, city, last = kept[0], kept[1], kept[-1]
    postal = ""
    if match := EN_POSTAL.search(last):
        postal = match.group(1)
        last = (last[: match.start()] + last[match.end() :]).strip()
    region = last or city
    if len(kept) > 3:
        line1 = ", ".join(kept[:-2])
        city = kept[-2]
    return ParsedAddress(region, city, line1, postal, None, phone)
