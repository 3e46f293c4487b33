"""``neuralpaint cluster-local``: a Dask cluster on this machine, for ``paint --cluster``."""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from .common import PROG, Command, int_at_least


def add_cluster_local_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int_at_least(1), default=2, metavar="N",
                   help="worker processes (default: %(default)s)")
    p.add_argument("--threads-per-worker", type=int_at_least(1), default=1, metavar="T",
                   help="photos each worker paints at once (default: %(default)s)")
    p.add_argument("--port", type=int_at_least(0), default=8786,
                   help="the scheduler's port; 0 picks a free one (default: %(default)s)")
    p.add_argument("--dashboard-port", type=int_at_least(0), default=8787, metavar="PORT",
                   help="the dashboard's port, when bokeh is installed (default: %(default)s)")


def run_cluster_local(args: argparse.Namespace) -> int:
    from ..cluster import local_cluster

    cluster = local_cluster(args.workers, args.threads_per_worker, args.port, args.dashboard_port)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(f"Dask scheduler at {cluster.scheduler_address} with {args.workers} workers of "
              f"{args.threads_per_worker} thread(s)", flush=True)
        print(f"dashboard: {cluster.dashboard_link}" if "dashboard" in cluster.scheduler.services
              else "dashboard: none (pip install bokeh for one)", flush=True)
        print(f"paint on it: {PROG} paint --img DIR --out DIR --cluster {cluster.scheduler_address}", flush=True)
        print("Ctrl-C stops it", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        cluster.close()
        signal.signal(signal.SIGTERM, previous)
    print("cluster stopped", file=sys.stderr)
    return 0


COMMAND = Command(
    name="cluster-local",
    summary="run a Dask cluster on this machine for paint --cluster",
    description="Start a Dask scheduler and --workers worker processes on this machine (a\n"
    "distributed.LocalCluster), print the scheduler's address and the dashboard link, and run\n"
    "until Ctrl-C (or SIGTERM), which shuts it down cleanly. Paint on it from another terminal\n"
    "with: neuralpaint paint --img DIR --out DIR --cluster ADDRESS. Needs 'neuralpaint[cluster]';\n"
    "see docs/cluster.md.",
    add_arguments=add_cluster_local_arguments,
    run=run_cluster_local,
    epilog="examples:\n  neuralpaint cluster-local --workers 4\n"
    "  neuralpaint cluster-local --workers 2 --threads-per-worker 2 --port 0",
)
