"""shopmate/log_redaction.py in the Rasa runtime (Python 3.10), run by
tests/addons/test_log_redaction.py: importing the module Rasa loads (`stores`, which
endpoints.yml names, or `channels`, which credentials.yml names) redacts the records
of Rasa's loggers, Sanic's access log and Rasa's structlog lines alike.

`python -m tests.addons.rasa_runtime.check_log_redaction stores|channels`
"""

from __future__ import annotations

import importlib
import io
import logging
import sys

PHONE = "13812345678"
EMAIL = "zhang.san@example.com"
TOKEN = "Q2hhbm5lbFRva2VuLXNlY3JldC12YWx1ZQ"

# A Rasa logger made before the redaction is installed, as Rasa's modules make theirs.
processor_logger = logging.getLogger("rasa.core.processor")
assert not getattr(logging.getLogRecordFactory(), "_shopmate_redacted", False)

module = sys.argv[1] if len(sys.argv) > 1 else "stores"
importlib.import_module(f"addons.{module}")

from shopmate.log_redaction import redaction_installed  # noqa: E402 - after the import

assert redaction_installed(), f"importing addons.{module} did not install the redaction"


def captured(
    logger: logging.Logger, fmt: str = "%(levelname)s %(name)s: %(message)s"
) -> io.StringIO:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return stream


# A Rasa logger's record: message arguments, an exception's text.
stream = captured(processor_logger)
processor_logger.info("Received user message %r from %s", f"my phone is {PHONE}", EMAIL)
try:
    raise ValueError(f"cannot parse {PHONE} for order A1000001")
except ValueError:
    processor_logger.exception("Encountered an exception while running action")
text = stream.getvalue()
assert PHONE not in text, text
assert EMAIL not in text, text
assert "my phone is ***********" in text, text
assert "[email]" in text, text
assert "ValueError: cannot parse *********** for order A1000001" in text, text

# Sanic's access log: the request line (with Rasa's ?token=) arrives in `extra`.
from sanic.log import access_logger  # noqa: E402

stream = captured(access_logger, "%(request)s %(status)s")
access_logger.info("", extra={"request": f"GET /status?token={TOKEN}", "status": 200, "byte": 1})
assert stream.getvalue() == "GET /status?token=[redacted] 200\n", stream.getvalue()

# Rasa's structlog lines go through the standard library as well (rendered as JSON).
import structlog  # noqa: E402
from rasa.utils.log_utils import configure_structlog  # noqa: E402

root = logging.getLogger()
stream = captured(root, "%(message)s")
configure_structlog(logging.INFO)
structlog.get_logger().info(
    "processor.message", text=f"call {PHONE}", metadata={"customer_token": TOKEN}
)
text = stream.getvalue()
assert "processor.message" in text, text
assert PHONE not in text, text
assert TOKEN not in text, text

print(f"log redaction ({module}): ok")
