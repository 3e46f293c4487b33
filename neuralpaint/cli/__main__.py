"""``python -m neuralpaint.cli``: the ``neuralpaint`` command."""
import sys

from . import main

sys.exit(main())
