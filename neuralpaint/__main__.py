"""``python -m neuralpaint``: the ``neuralpaint`` command."""
from .cli import run

run()
