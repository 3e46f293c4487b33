"""``python -m ddp_probe ARGS``: ``neuralpaint ARGS``, noting in ``$PROBE_LOG`` which rank writes
which checkpoint or state file, and at the end each rank's weights (a checksum), for
tests/test_train_ddp.py under torchrun."""
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


def kept(build):
    def build_net(*args, **kwargs):
        nets.append(build(*args, **kwargs))
        return nets[-1]

    return build_net


nets = []
train.save_checkpoint = noted(train.save_checkpoint)
train._save_state = noted(train._save_state)
train.build_net = kept(train.build_net)
status = main()
with open(os.environ["PROBE_LOG"], "a") as log:
    checksum = sum(float(p.double().sum()) for p in nets[-1].parameters())
    log.write(f"{os.environ.get('RANK', '-')} weights {checksum!r}\n")
sys.exit(status)
