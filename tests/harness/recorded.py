"""Recorded SLO history for tests: slogate's recording-rule series written as a promtool backfill.

A Prometheus that has run slogate's rules for 30 days holds two series per SLO, one sample a
minute. Tests cannot wait 30 days, so the same series are written as OpenMetrics text and imported
with ``promtool tsdb create-blocks-from openmetrics`` into the data directory before Prometheus
starts; the rules loaded into that Prometheus then go on appending to the very same series.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from slogate.api.slo import Indicator
from slogate.domain.recording import ERRORS_RECORD, REQUESTS_RECORD, RULE_INTERVAL, series_labels

ErrorRatioAt = Callable[[timedelta], float]
"""The error ratio recorded at a given age (how long before now)."""


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        raise FileNotFoundError("promtool is not installed; run 'make prometheus' (Debian's package)")
    return found


def backfill_recorded(
    data: Path,
    *,
    namespace: str,
    name: str,
    indicator: Indicator,
    error_ratio_at: ErrorRatioAt,
    requests_per_second: float,
    days: int = 30,
) -> None:
    """Write ``days`` of the SLO's recorded series, ending two minutes ago, into ``data``."""
    labels = ",".join(
        f'{label}="{value}"' for label, value in series_labels(namespace, name, indicator).items()
    )
    end = int(time.time()) // 60 * 60 - 120
    step = int(RULE_INTERVAL.total_seconds())
    ages = [timedelta(seconds=end - at) for at in range(end - days * 86400, end + 1, step)]
    with tempfile.TemporaryDirectory(prefix="slogate-backfill-") as workdir:
        text = Path(workdir) / "recorded.om"
        with text.open("w") as out:
            for record, errors in ((ERRORS_RECORD, True), (REQUESTS_RECORD, False)):
                out.write(f"# TYPE {record} gauge\n")
                for age in ages:
                    value = requests_per_second * (error_ratio_at(age) if errors else 1.0)
                    out.write(f"{record}{{{labels}}} {value} {end - int(age.total_seconds())}\n")
            out.write("# EOF\n")
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                promtool(),
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                # Hidden flag: one block for the whole range, so retention keeps it whole.
                f"--max-block-duration={days * 24 + 24}h",
                str(text),
                str(data),
            ],
            check=True,
            capture_output=True,
        )
