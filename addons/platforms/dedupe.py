"""Drop a platform's retried callbacks: every platform resends a callback it thinks
failed (a slow reply, a lost connection), and each resend would otherwise get its own
answer. A message or event id is claimed once; later claims within the TTL fail.

In memory for one Rasa process; in Redis (SET NX EX) when REDIS_URL is set, so two
Rasa instances behind a load balancer also answer a retried callback once.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

logger = logging.getLogger(__name__)

MAX_REMEMBERED = 100_000


class CallbackDeduplicator:
    """`await claim(platform, message_id)` is True the first time, False for a retry."""

    def __init__(self, ttl_s: int = 24 * 3600, redis_url: str | None = None) -> None:
        self.ttl_s = max(1, ttl_s)
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._redis: Any = None
        if redis_url:
            import redis.asyncio as redis_asyncio  # Rasa's lock store already needs redis

            self._redis = redis_asyncio.from_url(redis_url, socket_timeout=2)

    async def claim(self, platform: str, message_id: str | None) -> bool:
        if not message_id:
            # Nothing to deduplicate by: answer it (the connectors refuse such bodies).
            return True
        key = f"shopmate:callback:{platform}:{message_id}"
        if self._redis is not None:
            try:
                return bool(await self._redis.set(key, "1", nx=True, ex=self.ttl_s))
            except Exception as error:  # noqa: BLE001 - Redis down: fall back to this process
                logger.warning("callback dedupe: Redis unavailable (%s)", type(error).__name__)
        return self._claim_locally(key)

    def _claim_locally(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self.ttl_s and len(self._seen) < MAX_REMEMBERED:
                break
            self._seen.pop(oldest)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True
