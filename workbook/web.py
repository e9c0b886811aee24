"""``python -m workbook.web [--port 8000] [--threads 2] [--no-isolation]``: serve notebook 42's page until Ctrl-C.

What ``make web`` runs: ``web/`` with the digits CNN and MiniLM under ``/models/``, on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence

from helpers.web import page_models, serve_web


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the page with its models until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m workbook.web", description=__doc__)
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--threads", type=int, default=2, help="wasm threads the printed URL asks for")
    parser.add_argument("--no-isolation", action="store_true", help="serve without COOP/COEP (one thread only)")
    args = parser.parse_args(argv)
    print("Preparing the models (the first time trains the digits CNN and exports MiniLM: about a minute)...")
    server = serve_web(page_models(), isolated=not args.no_isolation, port=args.port)
    print(f"Serving web/ on {server.url} (cross-origin isolated: {not args.no_isolation}). Open "
          f"{server.url}?threads={args.threads} in a browser on this machine "
          f"(remotely: ssh -L {server.port}:127.0.0.1:{server.port} HOST). Ctrl-C stops it.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
