"""No phone, e-mail or credential reaches a log line once `install_redaction()` ran
(shopmate/log_redaction.py); order numbers stay readable."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator

import pytest

from shopmate import log_redaction
from shopmate.log_redaction import install_redaction, redact, uninstall_redaction

PHONE = "13812345678"
EMAIL = "zhang.san+shop@example.com"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwic2lkIjoiZTJlIn0.c2lnbmF0dXJlLXNpZw"
# Made before any test installs the redaction: its records are redacted all the same.
MADE_BEFORE_INSTALL = logging.getLogger("tests.log_redaction.made_before_install")


@pytest.fixture
def redacting() -> Iterator[None]:
    """The redaction installed for one test, and taken away after it (the rest of the
    test session keeps the stock record factory)."""
    install_redaction()
    try:
        yield
    finally:
        uninstall_redaction()


def capture(logger: logging.Logger) -> io.StringIO:
    """What `logger` writes, formatted as a log file would be."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return stream


@pytest.fixture
def logger() -> logging.Logger:
    return logging.getLogger("tests.log_redaction")


# --- redact() ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("phone 13812345678", "phone ***********"),
        ("手机１３８１２３４５６７８", "手机***********"),  # full-width digits too
        ("call 138-1234-5678 or 138 1234 5678", "call ***-****-**** or *** **** ****"),
        ("+86 138 1234 5678", "+** *** **** ****"),
        ("+44 20 7946 0958, +1 (555) 123-4567", "+** ** **** ****, +* (***) ***-****"),
        ("(021) 1234 5678", "(***) **** ****"),
        ("id4155550123", "id**********"),  # right after letters, still a phone
        ("int() with base 10: '4155550123'", "int() with base 10: '**********'"),
        ("timestamp 1764892800.25", "timestamp **********.25"),
    ],
)
def test_phone_numbers_and_long_digit_runs_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        f"reply to {EMAIL} please",
        "mailto:alice@example.com",
        "张三@例子.中国",
        "13812345678@163.com",
    ],
)
def test_email_addresses_are_masked(text: str) -> None:
    redacted = redact(text)
    assert "@" not in redacted
    assert "[email]" in redacted
    assert not any(ch.isdigit() for ch in redacted)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("POST /webhook?token=k9Xq2_secretvalue&sender=s1", "POST /webhook?token=[redacted]&"),
        ('{"customer_token": "' + JWT + '", "other": 1}', '{"customer_token": "[redacted]"'),
        ("{'session_token': 'c2Vzc2lvbg.1764892800.abcdEFGH_ijk-lmn'}", "'session_token': '"),
        ("Authorization: Bearer abc.DEF-ghi_123", "Authorization: [redacted]"),
        ("headers: ('authorization', 'Bearer abc.DEF-ghi_123')", "'Bearer [redacted]'"),
        (f"token from the page: {JWT}", "token from the page: [redacted]"),
        (f"metadata carried {JWT}", "metadata carried [redacted]"),
        ("SESSION_SECRET=Zx9_aaaaaaaaaaaaaaaaaaaaaaaaaa", "SESSION_SECRET=[redacted]"),
        ("signing key 'Zx9_bbbbbbbbbbbbbbbbbbbbbbbbbbbb'", "signing key '[redacted]'"),
        ("password: hunter2", "password: [redacted]"),
        ("postgresql://shop:s3cr3t@db.internal:5432/shop", "postgresql://shop:[redacted]@db"),
    ],
)
def test_credentials_are_masked(text: str, kept: str) -> None:
    redacted = redact(text)
    assert kept in redacted
    for secret in ("k9Xq2", JWT[:20], "abcdEFGH", "abc.DEF", "Zx9_", "hunter2", "s3cr3t"):
        assert secret not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "order A1000001 of customer 1",
        "订单A1000001和a-1000002已发货",
        "orders A1000001, A1000002 and A2000001",
        "at 2026-11-23 12:00:00,123 and 2026-11-23T08:30",
        "model models/20261123-120000-brave-river.tar.gz loaded",
        "llm fallback: max_new_tokens=128 generated_tokens=12",
        "customer token refused: ExpiredSignatureError",
        "action server on http://127.0.0.1:5055, 200 in 12 ms, v3.6.21",
        "cache key=conversation-1",
        "channel is off (set FEISHU_APP_SECRET, FEISHU_VERIFICATION_TOKEN)",
        "the key rasa_tracker_store_conversations_cache",
    ],
)
def test_order_numbers_dates_and_ordinary_lines_are_kept(text: str) -> None:
    assert redact(text) == text


def test_an_order_number_next_to_a_phone_is_kept_and_the_phone_masked() -> None:
    assert redact("A1000001 13812345678") == "A1000001 ***********"
    assert redact("A10000012") == "A********"  # 8 digits: not an order number
    assert redact("2026-11-23 13812345678") == "2026-11-23 ***********"


# --- every record of the process -------------------------------------------------------


def test_a_phone_in_a_message_argument_is_masked(redacting: None, logger: logging.Logger) -> None:
    stream = capture(logger)
    logger.info("guest proof for %s with %s", "A1000001", PHONE)
    assert (
        stream.getvalue() == "INFO tests.log_redaction: guest proof for A1000001 with ***********\n"
    )


def test_the_record_keeps_the_redacted_message_and_no_arguments(redacting: None) -> None:
    record = logging.getLogger("tests.log_redaction").makeRecord(
        "x", logging.INFO, __file__, 1, "mail %s", (EMAIL,), None
    )
    assert record.msg == "mail [email]"
    assert record.args == ()
    assert record.getMessage() == "mail [email]"


def test_an_email_is_masked(redacting: None, logger: logging.Logger) -> None:
    stream = capture(logger)
    logger.warning("complaint from %s", EMAIL)
    logger.warning(f"complaint from {EMAIL}")  # preformatted text too
    assert EMAIL not in stream.getvalue()
    assert stream.getvalue().count("complaint from [email]") == 2


def test_a_token_in_a_url_is_masked(redacting: None, logger: logging.Logger) -> None:
    stream = capture(logger)
    url = "http://127.0.0.1:5055/webhook?token=Qm9vbS1hY3Rpb24tc2VydmVyLXRva2Vu"
    logger.error("Failed to run custom action: %s", url)
    logger.error("session request %r", {"session_token": "c2Vzc2lvbg.1764892800.sig", "x": 1})
    text = stream.getvalue()
    assert "token=[redacted]" in text
    assert "Qm9vbS1" not in text
    assert "c2Vzc2lvbg" not in text


def test_an_exception_whose_message_carries_a_phone_is_masked(
    redacting: None, logger: logging.Logger
) -> None:
    stream = capture(logger)
    try:
        try:
            int(f"{PHONE}x")
        except ValueError as inner:
            raise LookupError(f"no order for phone {PHONE}") from inner
    except LookupError:
        logger.exception("order lookup failed")
    text = stream.getvalue()
    assert "Traceback (most recent call last)" in text
    assert "LookupError: no order for phone ***********" in text
    assert "ValueError: invalid literal for int() with base 10: '***********x'" in text
    assert PHONE not in text


def test_the_exception_is_kept_only_as_redacted_text(redacting: None) -> None:
    try:
        raise RuntimeError(f"mail {EMAIL}")
    except RuntimeError:
        record = logging.getLogger("tests.log_redaction").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), __import__("sys").exc_info()
        )
    # No formatter can print the raw exception again: only the redacted text is left.
    assert record.exc_info is None
    assert record.exc_text is not None
    assert "RuntimeError: mail [email]" in record.exc_text


def test_a_stack_is_redacted(redacting: None, logger: logging.Logger) -> None:
    stream = capture(logger)
    logger.info("where am I", stack_info=True)  # the stack shows this line: 13812345678
    text = stream.getvalue()
    assert "Stack (most recent call last)" in text
    assert "the stack shows this line: ***********" in text


def test_a_logger_made_before_install_is_redacted(redacting: None) -> None:
    stream = capture(MADE_BEFORE_INSTALL)
    MADE_BEFORE_INSTALL.warning("callback from %s", PHONE)
    assert PHONE not in stream.getvalue()
    assert "callback from ***********" in stream.getvalue()


def test_records_reaching_the_root_logger_are_redacted(
    redacting: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("rasa.core.processor").info("text %s", PHONE)
    assert caplog.records[0].getMessage() == "text ***********"
    assert PHONE not in caplog.text


def test_strings_passed_as_extra_are_redacted(redacting: None, logger: logging.Logger) -> None:
    # Sanic's access log puts the request line in `extra` (its format has %(request)s).
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(request)s %(status)s"))
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.info(
        "", extra={"request": "GET /conversations/c1/tracker?token=abcDEF123", "status": 200}
    )
    assert stream.getvalue() == "GET /conversations/c1/tracker?token=[redacted] 200\n"


def test_arguments_that_do_not_format_are_not_printed(
    redacting: None, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = capture(logger)
    logger.info("%d items", PHONE)  # a wrong format: logging would print the arguments
    assert stream.getvalue() == (
        "INFO tests.log_redaction: %d items [log arguments did not format: TypeError]\n"
    )
    assert PHONE not in capsys.readouterr().err


def test_a_warning_printed_to_stderr_is_redacted(redacting: None) -> None:
    text = warnings.formatwarning(f"slot value {PHONE}", UserWarning, "x.py", 1, "")
    assert "slot value ***********" in text
    assert PHONE not in text


def test_install_is_idempotent_and_each_record_is_redacted_once(
    redacting: None, logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory, make_record = logging.getLogRecordFactory(), logging.Logger.makeRecord
    formatwarning = warnings.formatwarning
    install_redaction()
    install_redaction()
    assert logging.getLogRecordFactory() is factory
    assert logging.Logger.makeRecord is make_record
    assert warnings.formatwarning is formatwarning
    # Another library wraps the factory, and the redaction is installed once more:
    # a record still goes through the redaction once.
    logging.setLogRecordFactory(lambda *args, **kwargs: factory(*args, **kwargs))
    try:
        install_redaction()
        calls: list[str] = []
        real_redact = log_redaction.redact

        def counting(text: str) -> str:
            calls.append(text)
            return real_redact(text)

        monkeypatch.setattr(log_redaction, "redact", counting)
        stream = capture(logger)
        logger.info("phone %s", PHONE)
        assert calls == ["phone 13812345678"]
        assert "phone ***********" in stream.getvalue()
    finally:
        logging.setLogRecordFactory(factory)


def test_uninstall_puts_the_stock_factory_back() -> None:
    stock = logging.getLogRecordFactory(), logging.Logger.makeRecord, warnings.formatwarning
    install_redaction()
    assert log_redaction.redaction_installed()
    uninstall_redaction()
    assert (
        logging.getLogRecordFactory(),
        logging.Logger.makeRecord,
        warnings.formatwarning,
    ) == stock
    assert not log_redaction.redaction_installed()
    record = logging.getLogger("x").makeRecord("x", logging.INFO, __file__, 1, "%s", (PHONE,), None)
    assert record.getMessage() == PHONE
