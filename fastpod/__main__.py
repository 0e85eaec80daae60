"""``python -m fastpod``."""

import sys

from fastpod.cli import main

sys.exit(main())
