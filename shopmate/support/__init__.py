"""People in the loop: complaints, escalation to a person, and the tickets agents work.

`complaints` reads what a complaint is about; `escalation` decides when the bot should
offer a person (pure rules over the turns of a conversation, shared by the Rasa policy
in addons/ and the tests); `hours` knows when the support team works; `tickets`
(`TicketDesk`) keeps complaints and handoffs with their transcript, notes and rating;
`summary` writes the few lines an agent reads first; `webhook` forwards new tickets to
an external helpdesk. No Rasa imports; configuration comes in through constructors.
"""
