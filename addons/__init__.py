"""Rasa-side extensions (Python 3.10 runtime): NLU components and store factories."""
