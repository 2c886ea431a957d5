"""The services' HTTP contract, committed like the topics' schemas (issue 17): one OpenAPI document
per service in ``contracts/openapi/``, generated from the apps themselves, so that a change of an
endpoint shows in review as a diff of its document and ``tests/unit/test_http_contract.py`` can tell
a compatible change from a breaking one.

``python -m services.stack.openapi`` writes them (``make schemas`` runs it beside the topics' export);
``--check`` writes nothing and exits 1 listing the documents that differ from the apps.
"""

import argparse
import importlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from services.runtime.tokens import generate_keypair

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_DIR = "contracts/openapi"
API_SERVICES = ("auth", "debt", "simulation", "requests", "debits", "notifications")
"""what gateways call: the portal serves pages, not an API"""


@contextmanager
def _throwaway_keys() -> Iterator[None]:
    """auth signs tokens and simulation seals quotes from key files read when the app is built: keys
    made for the occasion, since nothing of a key reaches the document."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as folder:
        keys = Path(folder)
        generate_keypair(keys / "token.pem", keys / "token.pub.pem")
        generate_keypair(keys / "quote.pem", keys / "quote.pub.pem")
        os.environ |= {
            "TOKEN_PRIVATE_KEY_FILE": str(keys / "token.pem"),
            "TOKEN_PUBLIC_KEY_FILE": str(keys / "token.pub.pem"),
            "QUOTE_SIGNING_KEY_FILE": str(keys / "quote.pem"),
            "QUOTE_PUBLIC_KEY_FILES": str(keys / "quote.pub.pem"),
            "OTEL_EXPORTER_OTLP_ENDPOINT": "",
            "LOG_LEVEL": "WARNING",  # the apps' start-up lines are not the export's output
        }
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


def documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, from its app as ``recouvrement serve`` builds it (nothing is
    started: no database, no broker)."""
    # Five apps in one process: each sets up tracing, and OpenTelemetry warns from the second on.
    logging.getLogger("opentelemetry.trace").setLevel(logging.ERROR)
    with _throwaway_keys():
        return {name: importlib.import_module(f"services.{name}.main").create_app().openapi() for name in API_SERVICES}


def render() -> dict[str, str]:
    """path (from the repository's root) → the committed text"""
    return {
        f"{OPENAPI_DIR}/{name}.json": json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        for name, document in documents().items()
    }


def differences(root: Path = ROOT) -> list[str]:
    lines = []
    for path, text in render().items():
        on_disk = root / path
        if not on_disk.exists() or on_disk.read_text(encoding="utf-8") != text:
            lines.append(f"{path}: out of date")
    return lines


def write(root: Path = ROOT) -> list[str]:
    written = []
    for path, text in render().items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.stack.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a document is out of date")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository to write into (tests)")
    args = parser.parse_args(argv)
    if args.check:
        outdated = differences(args.root)
        for line in outdated:
            print(line, file=sys.stderr)
        if outdated:
            print("run `make schemas` and commit the documents", file=sys.stderr)
        return 1 if outdated else 0
    for path in write(args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
