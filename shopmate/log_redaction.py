"""No personal data or secret in a log line: every record is redacted once, when made.

`install_redaction()` puts a `logging.LogRecordFactory` in front of the current one,
so every record of every logger of the process (Rasa's, Sanic's, rasa-sdk's, ours,
loggers made before the call as well) is redacted as it is created: the message is
formatted with its arguments, then redacted, and the arguments are dropped; an
exception is formatted into `exc_text` and redacted (`exc_info` is dropped, so no
formatter prints the raw exception again), the stack too. Strings passed as `extra=`
(Sanic's access log puts the request URL there) are redacted by `Logger.makeRecord`,
and a warning printed to stderr by `warnings.formatwarning`.
Each process calls it at start (actions/server.py, web/server.py, addons/stores.py and
addons/channels.py for Rasa); calling it again changes nothing.

`redact(text)` masks:
- phone numbers and any run of 7+ digits (spaces, dashes, brackets between them
  allowed, `+` in front, full-width digits too): every digit becomes `*`;
- e-mail addresses: `[email]`;
- credentials: `Bearer <token>`, the value after a key naming a token, secret,
  password, API key or authorization (`?token=…`, `"customer_token": "…"`,
  `session_token='…'`, `SESSION_SECRET=…`), JWT-like strings (`eyJ…`), a URL's
  password (`scheme://user:…@host`) and a long random string (URL-safe base64,
  24+ characters, lower case with upper case or digits, so an environment variable's
  name stays) right after the word token, secret or key: `[redacted]`.
Kept readable: order numbers (a letter and 7 digits, `A1000001`, how support staff
find an order), dates and times (`2026-11-23 12:00:00`) and Rasa's model names
(`20261123-120000-…`), and counts after a key ending in "tokens" (`max_new_tokens=128`).

Names and street addresses cannot be recognised by a pattern: the guarantee for them
is that the code never logs message text or slots (it logs a type or a count), and
Rasa's own message-level logging is DEBUG only. Stdlib only (and shopmate.privacy,
which is too), Python 3.10 syntax: the Rasa runtime imports this module too.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from shopmate.privacy import ANY_DIGIT, MASK, ORDER_NUMBER_IN_TEXT

REDACTED = "[redacted]"
EMAIL_MASK = "[email]"

# Credentials are looked for only where the text holds one of the words `redact` checks.
_CREDENTIAL_CHARS = r"[A-Za-z0-9\-._~+/]+=*"
# Keys whose value is a credential, wherever they appear (query, JSON, repr, env).
_CREDENTIAL_NAME = (
    r"[A-Za-z0-9_\-]*(?:token|secret|passw(?:or)?d|pwd|api[_\-]?key|authorization)"
    r"[A-Za-z0-9_\-]*"
)
_CREDENTIALS = re.compile(
    "|".join(
        [
            r"(?P<jwt>(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}"
            r"(?:\.[A-Za-z0-9_\-]*)?)",
            rf"(?P<bearer>(?i:bearer)\s+){_CREDENTIAL_CHARS}",
            # key, separator, value: lastgroup is "value" (the last group closed)
            rf"(?P<key>(?<![A-Za-z0-9_\-])(?i:{_CREDENTIAL_NAME}))(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
            r"(?P<value>(?:(?i:bearer|basic|token)\s+)?[^\s\"'&,;<>{}()\[\]]+)",
            # a long random string right after the word token, secret or key
            r"(?P<near>(?i:token|secret|key)[A-Za-z0-9_\-]*[\"']?\W{1,3}?)"
            r"[A-Za-z0-9_\-+/]{24,}={0,2}",
        ]
    )
)
# Where there is an "@": a URL's password, an e-mail address.
_AT = re.compile(
    r"(?P<userinfo>(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]+:)[^\s/@]+(?=@)"
    r"|(?P<email>(?<![\w.%+\-])[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,})"
)
# 7+ digits, with spaces, dashes or brackets between them (a "+" in front stays). No
# lookbehind: a pattern that starts with one is tried at every position, which costs
# more than the rest of the redaction (a run that fails from its first digit fails
# from any later one, so scanning from the left finds the same runs).
_DIGIT_RUN = re.compile(r"\d(?:[\s\-()]{0,2}\d){6,}")
# What a digit run may begin with and is kept: a date (and time), a Rasa model's name.
_KEPT_AT_START = re.compile(
    r"(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?)?(?!\d)"
    r"|20\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])-\d{6}(?!\d)"
)
ORDER_DIGITS = 7


def _is_order_number(text: str, start: int) -> bool:
    """The 7 digits at `start` end an order number (A1000001, a-1000001)."""
    for letter_at in (start - 1, start - 2):
        found = ORDER_NUMBER_IN_TEXT.match(text, letter_at) if letter_at >= 0 else None
        if found is not None and found.end() == start + ORDER_DIGITS:
            return True
    return False


def _mask_run(match: re.Match[str]) -> str:
    text, start, run = match.string, match.start(), match.group()
    kept = _KEPT_AT_START.match(text, start)
    if kept is not None:
        keep = min(kept.end() - start, len(run))
    elif _is_order_number(text, start):
        keep = ORDER_DIGITS
    else:
        return ANY_DIGIT.sub(MASK, run)
    return run[:keep] + _DIGIT_RUN.sub(_mask_run, run[keep:])


def _looks_random(value: str) -> bool:
    """Lower case with upper case or digits, as random URL-safe base64 or hex is; an
    environment variable's name (upper case) or an identifier (lower case) is not."""
    return any(c.islower() for c in value) and any(c.isupper() or c.isdigit() for c in value)


def _replace_credential(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "value":
        key, value = match.group("key"), match.group("value")
        if key.lower().endswith("tokens") and value.isdigit():
            return match.group()  # a count of tokens (max_new_tokens=128), not a token
        return f"{key}{match.group('sep')}{REDACTED}"
    if kind == "near":
        prefix = match.group("near")
        if not _looks_random(match.group()[len(prefix) :]):
            return match.group()  # a name (FEISHU_VERIFICATION_TOKEN), not a token
        return f"{prefix}{REDACTED}"
    if kind == "bearer":
        return f"{match.group(kind)}{REDACTED}"
    return REDACTED


def _replace_at(match: re.Match[str]) -> str:
    if match.lastgroup == "userinfo":
        return f"{match.group('userinfo')}{REDACTED}"
    return EMAIL_MASK


def redact(text: str) -> str:
    """`text` without credentials, e-mail addresses, phone numbers or other runs of 7+
    digits (order numbers and dates kept). Each kind is looked for only where a cheap
    test says it may be there: most log lines pass through three scans."""
    lowered = text.lower()
    if (
        "token" in lowered
        or "secret" in lowered
        or "key" in lowered
        or "passw" in lowered
        or "pwd" in lowered
        or "bearer" in lowered
        or "authoriz" in lowered
        or "eyj" in lowered
    ):
        text = _CREDENTIALS.sub(_replace_credential, text)
    if "@" in text:
        text = _AT.sub(_replace_at, text)
    return _DIGIT_RUN.sub(_mask_run, text)


# --- the record factory ----------------------------------------------------------------

_MARK = "_shopmate_redacted"  # set on a record (done) and on our factory (installed)
_lock = threading.Lock()
# What each factory of ours wraps, and the stock Logger.makeRecord (for uninstall).
_wrapped: dict[Callable[..., logging.LogRecord], Callable[..., logging.LogRecord]] = {}
_stock_make_record: list[Callable[..., logging.LogRecord]] = []
_stock_formatwarning: list[Callable[..., str]] = []


def redact_record(record: logging.LogRecord) -> None:
    """Redact one record in place, once: message with its arguments, exception, stack."""
    if getattr(record, _MARK, False):
        return
    try:
        message = record.getMessage()
    except Exception as error:  # noqa: BLE001 - a bad format string must not hide the line
        message = f"{record.msg!s} [log arguments did not format: {type(error).__name__}]"
    record.msg = redact(message)
    record.args = ()
    if record.exc_info:
        if not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    setattr(record, _MARK, True)


def _redacting_factory(
    previous: Callable[..., logging.LogRecord],
) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    setattr(factory, _MARK, True)
    return factory


def _redacting_make_record(previous: Callable[..., logging.LogRecord]) -> Callable[..., Any]:
    def make_record(
        self: logging.Logger,
        name: str,
        level: int,
        fn: str,
        lno: int,
        msg: object,
        args: Any,
        exc_info: Any,
        func: str | None = None,
        extra: Mapping[str, object] | None = None,
        sinfo: str | None = None,
    ) -> logging.LogRecord:
        if extra:
            extra = {k: redact(v) if isinstance(v, str) else v for k, v in extra.items()}
        return previous(self, name, level, fn, lno, msg, args, exc_info, func, extra, sinfo)

    setattr(make_record, _MARK, True)
    return make_record


def _redacting_formatwarning(previous: Callable[..., str]) -> Callable[..., str]:
    def formatwarning(*args: Any, **kwargs: Any) -> str:
        return redact(previous(*args, **kwargs))

    setattr(formatwarning, _MARK, True)
    return formatwarning


def install_redaction() -> None:
    """Redact every log record of this process from now on (idempotent: a second call,
    or one after another library wrapped the factory, redacts each record once)."""
    with _lock:
        current = logging.getLogRecordFactory()
        if not getattr(current, _MARK, False):
            ours = _redacting_factory(current)
            _wrapped[ours] = current
            logging.setLogRecordFactory(ours)
        if not getattr(logging.Logger.makeRecord, _MARK, False):
            _stock_make_record.append(logging.Logger.makeRecord)
            logging.Logger.makeRecord = _redacting_make_record(  # type: ignore[method-assign]
                logging.Logger.makeRecord
            )
        # Warnings printed to stderr (Rasa's raise_warning wraps this formatter too).
        if not getattr(warnings.formatwarning, _MARK, False):
            _stock_formatwarning.append(warnings.formatwarning)
            warnings.formatwarning = _redacting_formatwarning(warnings.formatwarning)


def uninstall_redaction() -> None:
    """Put back what `install_redaction` replaced, as far as nothing wraps it (tests)."""
    with _lock:
        current = logging.getLogRecordFactory()
        while current in _wrapped:
            current = _wrapped.pop(current)
            logging.setLogRecordFactory(current)
        if getattr(logging.Logger.makeRecord, _MARK, False) and _stock_make_record:
            logging.Logger.makeRecord = _stock_make_record.pop()  # type: ignore[method-assign]
        if getattr(warnings.formatwarning, _MARK, False) and _stock_formatwarning:
            warnings.formatwarning = _stock_formatwarning.pop()


def redaction_installed() -> bool:
    """Whether the factory in place now is this module's."""
    return bool(getattr(logging.getLogRecordFactory(), _MARK, False))
