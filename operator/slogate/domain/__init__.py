"""Pure decisions: burn-rate and budget maths, freeze calendars, release verdicts.

No kopf, no Kubernetes or Prometheus clients, no clock (``now`` is always an argument): the
import-linter contracts in pyproject.toml enforce it. Everything here is a function of its inputs,
which is what lets the operator restart at any instant and decide the same way again.
"""
