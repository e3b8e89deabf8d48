"""``python -m metabridge`` is the ``metabridge`` command."""

import sys

from .cli import main

sys.exit(main())
