"""Pure decisions: budget and burn-rate maths, freeze calendars, gate verdicts.

Nothing here performs I/O or reads the clock; ``now`` is always a parameter, so
the same inputs always give the same decision.
"""
