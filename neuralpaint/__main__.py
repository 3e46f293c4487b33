"""``python -m neuralpaint``: the ``neuralpaint`` command."""
import sys

from .cli import main

sys.exit(main())
