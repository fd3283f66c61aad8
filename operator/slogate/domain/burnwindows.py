"""The two windows a gate's maxBurnRate is judged on, for one SLO.

Read over one window, the burn rate is wrong both ways when a burn starts or ends: an hour's average
is still low a few minutes into a 20x burn (a release would go through it) and still high for most of
an hour after the burn stopped (a healthy release would wait). So, as in multiwindow alerting, a gate
holds only while both a long window (the burn is significant) and a short one (it is still happening)
are over the limit.

The long window is the gate's ``burnRateWindow``, by default the SLO's shortest policy short window
(5m for the defaults of a 30-day SLO): a gate decides on what is happening now, not on the last hour.
The short one is ``burnRateShortWindow``, by default a twelfth of the long one as in the SRE
Workbook's pairs (1h and 5m, 6h and 30m), but never shorter than the SLO's shortest policy window,
which its policies already measure and its scrape interval is known to suit, and never longer than
the long one: at the defaults the two are the same window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from slogate.api.durations import parse_duration
from slogate.api.gate import ReleaseGateSpec
from slogate.api.slo import ServiceLevelObjectiveSpec

SHORT_WINDOW_FRACTION = 12
"""The short window is this fraction of the long one by default (the Workbook's 1h/5m, 6h/30m)."""


@dataclass(frozen=True)
class BurnRateWindows:
    long: timedelta
    short: timedelta

    def distinct(self) -> tuple[timedelta, ...]:
        """The windows to read: one when the two are the same."""
        return (self.long,) if self.short == self.long else (self.long, self.short)


def shortest_policy_window(spec: ServiceLevelObjectiveSpec) -> timedelta:
    """The shortest short window of the SLO's policies (its defaults when it names none)."""
    return min(parse_duration(policy.short_window) for policy in spec.effective_policies())


def burn_rate_windows(gate: ReleaseGateSpec, shortest_policy: timedelta) -> BurnRateWindows:
    """The long and short window ``gate``'s maxBurnRate is read over, for an SLO whose shortest
    policy window is ``shortest_policy``."""
    long = parse_duration(gate.burn_rate_window) if gate.burn_rate_window else shortest_policy
    if gate.burn_rate_short_window:
        short = parse_duration(gate.burn_rate_short_window)
    else:
        short = max(timedelta(seconds=long.total_seconds() // SHORT_WINDOW_FRACTION), shortest_policy)
    return BurnRateWindows(long=long, short=min(short, long))
