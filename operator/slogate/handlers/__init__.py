"""kopf handler registrations: a few lines each, every one with an explicit id.

Importing this package registers them; ``slogate run`` does that before starting kopf.
"""

from slogate.handlers import lifecycle, watches

__all__ = ["lifecycle", "watches"]
