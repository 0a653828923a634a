"""Generator settings: the schema lives with the rest of the configuration in
``shopmate/settings.py`` (the one module that reads the environment); the generator's
modules import it from here.
"""

from __future__ import annotations

from shopmate.settings import BACKENDS, BackendName, GeneratorSettings

__all__ = ["BACKENDS", "BackendName", "GeneratorSettings"]
