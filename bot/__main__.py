"""python -m bot: the posbot command line."""

import sys

from bot.cli import main

sys.exit(main())
