"""The store's system of record: SQLAlchemy 2 models, sessions, migrations, seed data.

No Rasa imports: the order database is usable and testable on its own.
"""
