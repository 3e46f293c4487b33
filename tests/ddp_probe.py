"""``python -m ddp_probe ARGS``: ``neuralpaint ARGS``, noting in ``$PROBE_LOG`` which rank writes
which checkpoint or state file (for tests/test_train_ddp.py, under torchrun)."""
import os
import sys

from neuralpaint.cli import main
from neuralpaint.training import train


def noted(function):
    def write(path, *args, **kwargs):
        with open(os.environ["PROBE_LOG"], "a") as log:
            log.write(f"{os.environ.get('RANK', '-')} {os.path.basename(path)}\n")
        return function(path, *args, **kwargs)

    return write


train.save_checkpoint = noted(train.save_checkpoint)
train._save_state = noted(train._save_state)
sys.exit(main())
