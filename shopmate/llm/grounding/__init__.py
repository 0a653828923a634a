"""Is every fact in a generated text backed by the facts it was given?

A small model rephrases well enough but makes up order numbers, prices, dates and
policy periods; a shopper who is told a wrong refund amount or return window is worse
off than one who gets the plain template. So before generated text is used, every
checkable claim in it is extracted, normalised and looked up in the facts (and the
template, which the action built from the same facts):

- identifiers: order / tracking numbers (A1234567, SF1234567890), phone numbers
- money: ¥12.50, 12.5元, 300块, $30, 30 dollars (¥12.50 == 12.5元 == 12.50)
- dates (2026-11-20, 11月20日, 十一月二十日, Nov 20), relative days (明天, tomorrow,
  周五) and times (14:30, 下午3点, 3pm)
- durations (7天 == 七天 == 7 days == 一周, 48小时, 3个工作日)
- percentages and discounts (20%, 百分之二十, 8折 == 20% off)
- quantities with a unit (3件, 2双, 2 items) and measures (500ml, 1.5kg)
- any other number in digits
- product names: in quotes or title marks, runs of capitalised English words, and
  known catalog names
- materials (纯棉, cotton, 真皮), promises (包邮, free shipping) and product qualities
  (手工, luxury, 防水, breathable, 畅销)

Text is NFKC-normalised first, so full-width digits and ￥ compare equal to ASCII.
A number written without a unit in the facts ("price: 12.50", {"days": 7}) backs
the same number with any unit in the output: facts built from database columns are
often bare numbers, and refusing "12.5元" against "price: 12.50" would reject every
faithful answer. Numbers written with a unit in the facts only back that kind.

The check is deliberately strict: a false rejection costs a plainer reply (the template),
a false acceptance costs a wrong promise.

The package, by concern: `claims` (Claim, GroundingResult), `numbers` (numbers in
digits, Chinese numerals and English words), `patterns` (what finds each kind of
claim), `extraction` (claims with their normalised keys) and `check`.
"""

from shopmate.llm.grounding.check import check_grounding
from shopmate.llm.grounding.claims import Claim, GroundingResult
from shopmate.llm.grounding.extraction import extract_claims, find_identifiers
from shopmate.llm.grounding.numbers import normalize_text, parse_number

__all__ = [
    "Claim",
    "GroundingResult",
    "check_grounding",
    "extract_claims",
    "find_identifiers",
    "normalize_text",
    "parse_number",
]
