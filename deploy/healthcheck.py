"""Container health check: GET a health endpoint of the HTTP server this container runs.

Usage: ``python healthcheck.py [/health/live | /health/ready]``. The port is ``HTTP_PORT`` (the five
services and the portal), ``PERCEPTION_HTTP_PORT`` (the reference perception) or ``BANK_HTTP_PORT``
(the reference bank). Standard library only.
"""

import os
import sys
import urllib.request

path = sys.argv[1] if len(sys.argv) > 1 else "/health/live"
port = (
    os.environ.get("HTTP_PORT") or os.environ.get("PERCEPTION_HTTP_PORT") or os.environ.get("BANK_HTTP_PORT") or "8100"
)
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception:
    sys.exit(1)
