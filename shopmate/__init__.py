"""Clients for the systems the actions talk to. No Rasa imports in this package."""
