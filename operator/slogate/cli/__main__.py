"""``python -m slogate.cli``: the ``slogate`` command without the installed console script."""

import sys

from slogate.cli import main

sys.exit(main())
