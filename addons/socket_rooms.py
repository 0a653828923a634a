"""Socket.IO rooms across Rasa instances, through Redis.

A shopper's socket is held by one Rasa instance (nginx's sticky hash). A turn's reply
is emitted by that same instance, but a message pushed through Rasa's HTTP API (an
agent's reply from the console, the rating question after a hand-back) is emitted by
whichever instance took the API call. python-socketio's Redis manager publishes every
emit to all instances, each delivering it to the sockets it holds.

What is added here: an emit is delivered to this instance's own sockets at once, and
published for the others (which skip what their own instance sent), so a Redis that is
down costs only the cross-instance delivery; the turn's own replies never wait for or
depend on Redis. While Redis is believed down (an Outage) nothing is published. The
messages stay in the tracker either way: a reload shows them (POST /history).

Redis carries these messages pickled (python-socketio's format): Redis is trusted like
the lock store it already is, never reachable from outside.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from socketio import AsyncRedisManager

from addons.edge import Outage, once_more_on_fresh_connections

logger = logging.getLogger(__name__)

# A hung Redis must not hold a turn's reply: the own sockets already have it.
PUBLISH_TIMEOUT_S = 1.0

# python-socketio logs every pub/sub message at INFO; only its errors are wanted.
QUIET = logging.getLogger("addons.socket_rooms.pubsub")
QUIET.setLevel(logging.WARNING)


class SharedRoomsManager(AsyncRedisManager):  # type: ignore[misc]
    def __init__(self, url: str) -> None:
        super().__init__(
            url,
            channel="shopmate-socketio",
            logger=QUIET,
            # No read timeout: the subscriber blocks reading until a message comes (a
            # timeout would drop and re-open it every second, losing what is sent
            # meanwhile). A publish is bounded below instead.
            redis_options={"socket_connect_timeout": 1, "health_check_interval": 30},
        )
        self.outage = Outage()

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("ignore_queue") or callback is not None:
            # Acknowledged emits keep python-socketio's own path (ShopMate sends none).
            await super().emit(
                event,
                data,
                namespace=namespace,
                room=room,
                skip_sid=skip_sid,
                callback=callback,
                **kwargs,
            )
            return
        await super().emit(
            event, data, namespace=namespace, room=room, skip_sid=skip_sid, ignore_queue=True
        )
        if self.outage.is_down():
            return
        message = {
            "method": "emit",
            "event": event,
            "data": data,
            "namespace": namespace or "/",
            "room": room,
            "skip_sid": skip_sid,
            "callback": None,
            "host_id": self.host_id,
        }
        try:
            await asyncio.wait_for(
                once_more_on_fresh_connections(
                    self.redis, lambda: self.redis.publish(self.channel, _pickled(message))
                ),
                timeout=PUBLISH_TIMEOUT_S,
            )
        except Exception as error:  # noqa: BLE001 - Redis down: this instance's own sockets only
            if self.outage.mark_down():
                logger.warning(
                    "socket rooms: Redis unreachable (%s); replies reach this instance's "
                    "sockets only",
                    type(error).__name__,
                )
            self._redis_connect()
        else:
            if self.outage.mark_up():
                logger.warning("socket rooms: Redis is back")

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("host_id") == self.host_id:
            return  # delivered already, when it was sent
        await super()._handle_emit(message)


def _pickled(message: dict[str, Any]) -> bytes:
    import pickle

    return pickle.dumps(message)
