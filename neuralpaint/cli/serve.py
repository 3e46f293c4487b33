"""``neuralpaint serve``: the studio, a local web page where photos are painted while you watch."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import NeuralPaintError
from .common import PROG, Command, int_at_least

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def default_data_dir() -> Path:
    """Where the studio keeps its paintings: ``$XDG_DATA_HOME/neuralpaint/studio`` (default
    ``~/.local/share/neuralpaint/studio``)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "neuralpaint" / "studio"


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; the default accepts only connections from this machine. Any "
                   "other address needs --token (or --no-token) (default: %(default)s)")
    p.add_argument("--port", type=int_at_least(0), default=8000,
                   help="port to listen on; 0 picks a free one (default: %(default)s)")
    p.add_argument("--data", type=Path, default=None, metavar="DIR",
                   help=f"where the paintings are kept, across restarts (default: {default_data_dir()})")
    p.add_argument("--max-running", type=int_at_least(1), default=1, metavar="N",
                   help="paintings painted at once (default: %(default)s)")
    p.add_argument("--max-queued", type=int_at_least(0), default=16, metavar="M",
                   help="paintings waiting at most; more are refused (HTTP 429) (default: %(default)s)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    access = p.add_mutually_exclusive_group()
    access.add_argument("--token", default=None, metavar="T",
                        help="every request must carry this token (Authorization: Bearer T, or ?token=T once in "
                        "the browser); required with a --host other than 127.0.0.1")
    access.add_argument("--no-token", action="store_true",
                        help="serve another --host without a token: anyone who reaches it can paint")


def run_serve(args: argparse.Namespace) -> int:
    import socket

    from ..extras import require

    for module in ("fastapi", "uvicorn", "python_multipart"):
        require(module, "neuralpaint serve")
    import uvicorn

    from ..web.app import create_app

    local = args.host in LOCAL_HOSTS
    if not local:
        print(f"{PROG}: warning: serving on {args.host}: other machines can reach the studio", file=sys.stderr)
        if args.token is None and not args.no_token:
            raise NeuralPaintError(f"--host {args.host} is reachable from other machines: give --token T (or "
                                   "--no-token to let anyone who reaches it paint)")
    if args.token is not None and len(args.token) < 8:
        raise NeuralPaintError("--token must be at least 8 characters")
    data = args.data or default_data_dir()
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise NeuralPaintError(f"{data}: cannot be the data directory: {err.strerror or err}") from None
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as err:
        raise NeuralPaintError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}") from None
    sock.listen(128)  # connections made once the address is printed wait until uvicorn serves them
    port = sock.getsockname()[1]
    app = create_app(data, max_running=args.max_running, max_queued=args.max_queued, token=args.token)
    shown = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    url = f"http://{shown}:{port}/" + (f"?token={args.token}" if args.token else "")
    print(f"neuralpaint studio: {url}  (paintings in {data}; Ctrl-C stops)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))
    server.run(sockets=[sock])
    return 0


COMMAND = Command(
    name="serve",
    summary="the studio: a local web page to paint photos and watch them form",
    description="Serve the studio, a web page where a photo is painted while you watch: choose a photo\n"
    "and the options, press Paint, see the canvas form live, download the picture, the SVG,\n"
    "the strokes and the animation. Paintings are kept under --data across restarts; each is\n"
    "what 'neuralpaint paint' makes with the same options. The JSON API is described at /docs.\n"
    "Needs the web extra: pip install 'neuralpaint[web]'. See docs/web.md.",
    add_arguments=add_serve_arguments,
    run=run_serve,
    epilog="examples:\n  neuralpaint serve                       # then open http://127.0.0.1:8000/\n"
    "  neuralpaint serve --port 0 --data studio/ --open\n"
    "  neuralpaint serve --host 0.0.0.0 --token \"$(openssl rand -hex 16)\"",
)
