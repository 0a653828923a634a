"""Store insight: conversation analytics over Rasa's SQL tracker store and the order
database, as one self-contained HTML report (docs/analytics.md).

- ``events``: streams the tracker store's rows, one conversation at a time;
- ``metrics``: what one conversation says (``ConversationFacts``) and the sums over
  all of them (``Insight``), in memory that does not grow with their number;
- ``store``: the figures of the order database (tickets, after-sales, ratings);
- ``report``: the HTML page with its pictures (matplotlib, inline PNG), zh and en.

No Rasa imports: the tracker store is read as the SQL table Rasa writes.
"""
