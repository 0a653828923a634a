"""How actions hold and call their services."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from rasa_sdk.executor import CollectingDispatcher

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Lazy(Generic[T]):
    """A service built once, on first use, by the composition root's recipe.

    Building may load a model or read a database, so actions ask for it off the event
    loop (`await lazy.ready()`); the server's warm-up builds the heavy ones in the
    background at start. Tests hand actions a built service (`Lazy.of(fake)`).
    """

    def __init__(self, build: Callable[[], T], name: str = "service") -> None:
        self._build: Callable[[], T] | None = build
        self._value: T | None = None
        self._lock = threading.Lock()
        self.name = name

    @classmethod
    def of(cls, value: T) -> Lazy[T]:
        built: Lazy[T] = cls(lambda: value, name=type(value).__name__)
        built.get()
        return built

    @property
    def built(self) -> bool:
        return self._build is None

    def get(self) -> T:
        """The service, built now if it is not yet (blocking)."""
        if self._build is not None:
            with self._lock:
                if self._build is not None:
                    self._value = self._build()
                    self._build = None
        return self._value  # type: ignore[return-value]

    async def ready(self) -> T:
        """The service, built off the event loop if it is not yet."""
        if self._build is None:
            return self._value  # type: ignore[return-value]
        return await asyncio.to_thread(self.get)


def lazy(service: T | Lazy[T]) -> Lazy[T]:
    """A constructor argument as a `Lazy`: the root passes recipes, tests built fakes."""
    return service if isinstance(service, Lazy) else Lazy.of(service)


class Apologised:
    """What `or_apologise` returns when the call failed and the shopper was told."""

    def __repr__(self) -> str:
        return "APOLOGISED"


APOLOGISED = Apologised()


async def or_apologise(
    dispatcher: CollectingDispatcher,
    apology: str,
    what: str,
    call: Callable[..., T],
    *args: Any,
    errors: tuple[type[BaseException], ...] = (Exception,),
    **kwargs: Any,
) -> T | Apologised:
    """`call(*args)` off the event loop; if it raises one of `errors`, the shopper gets
    the `apology` response and the log gets `what` failed with the error's type only
    (its message may quote the shopper's text or an order's personal data)."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except errors as error:
        logger.error("%s unavailable: %s", what, type(error).__name__)
        dispatcher.utter_message(response=apology)
        return APOLOGISED
