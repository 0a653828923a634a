"""A conversation as an agent reads it, from Rasa's events (the action server's tracker
or Rasa's HTTP API give the same dicts), masked as the tracker store masks them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shopmate.privacy import private_events

SHOPPER, BOT, AGENT = "shopper", "bot", "agent"
# What an agent's reply carries in its event metadata (web/agent.py sends it).
AGENT_METADATA_KEY = "agent"


def transcript_from_events(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Shopper, bot and agent lines in order: ``{"role", "text", "at", "agent"?}``.
    Button clicks show as their title when the payload is a command."""
    lines: list[dict[str, Any]] = []
    for event in private_events(events):
        kind, text = event.get("event"), event.get("text")
        if kind not in ("user", "bot") or not isinstance(text, str) or not text.strip():
            continue
        line: dict[str, Any] = {"text": text, "at": event.get("timestamp")}
        metadata = event.get("metadata") or {}
        agent = metadata.get(AGENT_METADATA_KEY) if isinstance(metadata, dict) else None
        if kind == "user":
            line["role"] = SHOPPER
            intent = (event.get("parse_data") or {}).get("intent") or {}
            if isinstance(intent, dict) and intent.get("name"):
                line["intent"] = intent["name"]
        elif agent:
            line.update(role=AGENT, agent=str(agent))
        else:
            line["role"] = BOT
        lines.append(line)
    return lines


def new_lines(transcript: list[dict[str, Any]], seen: int) -> list[dict[str, Any]]:
    """The lines after the first ``seen`` (what a live view has not shown yet)."""
    return transcript[max(0, seen) :]
