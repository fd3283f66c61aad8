"""The windows a gate's maxBurnRate is read over, per SLO."""

from __future__ import annotations

from datetime import timedelta

import pytest

from slogate.api.gate import ReleaseGateSpec
from slogate.domain.burnwindows import BurnRateWindows, burn_rate_windows

S = timedelta(seconds=1)
M = timedelta(minutes=1)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("gate_windows", "shortest_policy", "expected"),
    [
        ({}, 5 * M, BurnRateWindows(5 * M, 5 * M)),  # a 30d SLO's defaults: what is happening now
        ({"burnRateWindow": "1h"}, 5 * M, BurnRateWindows(H, 5 * M)),  # the Workbook's pair
        ({"burnRateWindow": "6h"}, 5 * M, BurnRateWindows(6 * H, 30 * M)),
        ({"burnRateWindow": "30m"}, 5 * M, BurnRateWindows(30 * M, 5 * M)),  # never under the SLO's windows
        ({"burnRateWindow": "2m"}, 5 * M, BurnRateWindows(2 * M, 2 * M)),  # never longer than the long one
        ({}, 10 * S, BurnRateWindows(10 * S, 10 * S)),  # a test SLO of seconds
        ({"burnRateWindow": "2h", "burnRateShortWindow": "7m"}, 5 * M, BurnRateWindows(2 * H, 7 * M)),
        ({"burnRateShortWindow": "1m"}, 5 * M, BurnRateWindows(5 * M, M)),
    ],
)
def test_the_short_window_is_a_twelfth_of_the_long_within_the_slos_windows(
    gate_windows: dict[str, str], shortest_policy: timedelta, expected: BurnRateWindows
) -> None:
    gate = ReleaseGateSpec.model_validate({"selector": {}, "maxBurnRate": 4, **gate_windows})
    assert burn_rate_windows(gate, shortest_policy) == expected
