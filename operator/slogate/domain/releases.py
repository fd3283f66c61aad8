"""How much error budget the current release of a workload has consumed, for maxBudgetConsumedPerRelease.

A release starts when its revision's ReplicaSet was created (the Deployment or Rollout controller
stamps the revision on it). What it consumed is the budget burnt since then, measured over exactly
that window: error ratio over the window -> burn rate -> burn x window / SLO window, as a percent of
the SLO's budget. The window is rounded down to a 10 s grain so releases that started close
together share one query, and capped at the SLO's window (a release older than that no longer
counts against it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from slogate.api.incident import RecentDeployment
from slogate.domain.budget import budget_consumed, burn_rate

WINDOW_GRAIN_SECONDS = 10
MIN_WINDOW = timedelta(seconds=30)
"""Below this rate() has too few samples to say anything: the release is measured from then on."""


def release_started(recent: Sequence[RecentDeployment], revision: str | None) -> datetime | None:
    """When the current revision was created, from the workload's recent deployments."""
    return next((deployment.time for deployment in recent if deployment.revision == revision), None)


def release_window(started: datetime, now: datetime, slo_window: timedelta) -> timedelta | None:
    """The window to measure the release over, or None while it is too young to measure."""
    elapsed = min(now - started, slo_window)
    seconds = int(elapsed.total_seconds()) // WINDOW_GRAIN_SECONDS * WINDOW_GRAIN_SECONDS
    window = timedelta(seconds=seconds)
    return window if window >= MIN_WINDOW else None


def consumed_percent(
    error_ratio: float, objective_percent: float, window: timedelta, period: timedelta
) -> float:
    """Percent of the period's error budget burnt over ``window`` at ``error_ratio``."""
    clamped = min(1.0, max(0.0, error_ratio))
    return 100 * budget_consumed(burn_rate(clamped, objective_percent), window, period)
