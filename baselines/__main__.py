"""``python -m baselines`` is the same as the ``baselines`` console script."""

import sys

from baselines.cli import main

if __name__ == "__main__":
    sys.exit(main())
