"""What a handoff or a complaint needs from the conversation, and how the shopper is
told about it. Shared by actions/handoff.py and actions/complaints.py."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.support.conversation import shopper_language
from actions.support.formatting import local_time
from actions.support.identity import logged_in_customer, verified_orders
from shopmate.identity import CustomerTokens
from shopmate.llm import GenerationRequest, Generator, TaskKind
from shopmate.support.escalation import Trigger
from shopmate.support.handoff import ConversationFacts, Handoff, summary_of
from shopmate.support.transcript import transcript_from_events

SENTIMENT_SLOT = "sentiment"
TICKET_SLOT = "handoff_ticket"


def conversation_facts(tracker: Tracker, tokens: CustomerTokens | None) -> ConversationFacts:
    """Who is asking is what the token proves (never a claim in the text); the orders
    are those proved in this conversation."""
    sentiment = tracker.get_slot(SENTIMENT_SLOT)
    return ConversationFacts(
        conversation_id=tracker.sender_id,
        language=shopper_language(tracker),
        sentiment=str(sentiment) if sentiment in ("negative", "neutral", "positive") else "neutral",
        transcript=transcript_from_events(tracker.events),
        customer_id=logged_in_customer(tracker, tokens),
        orders_proved=verified_orders(tracker),
    )


def tell_handoff(dispatcher: CollectingDispatcher, handoff: Handoff, timezone: str) -> None:
    """The ticket number and the wait, or when a person will answer."""
    if handoff.open_now:
        dispatcher.utter_message(
            response="utter_handoff_started",
            ticket=handoff.ticket,
            wait_minutes=handoff.wait_minutes,
        )
    else:
        dispatcher.utter_message(
            response="utter_handoff_after_hours",
            ticket=handoff.ticket,
            hours=handoff.hours,
            opens_at=local_time(handoff.opens_at, timezone),
        )


async def agent_summary(facts: ConversationFacts, trigger: Trigger, generator: Generator) -> str:
    """The facts' summary, led by the generator's one or two sentences when a model is
    configured and its text passes the grounding checks (the template backend and any
    rejected text give the facts alone)."""
    facts_summary = summary_of(facts, trigger)
    generation = await generator.generate(
        GenerationRequest(
            task=TaskKind.SUMMARISE_FOR_AGENT,
            language="en" if facts.language == "en" else "zh",
            facts=facts_summary.splitlines(),
            template="",
        )
    )
    written = generation.text.strip()
    return f"{written}\n\n{facts_summary}" if written else facts_summary
