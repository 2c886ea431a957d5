"""What the portal's browser tests share: Chromium, axe, screenshots, and the services' own answers
to compare the pages with (the pages must show exactly what the APIs computed)."""

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from contracts.money import format_amount
from services.stack.demo_data import PASSWORD
from tests.e2e.conftest import RunningStack

CHROMIUM_FLAGS = [
    # as the machine's probe found: without the background-networking flags Chromium keeps trying
    # Google's hosts, which this closed network refuses
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("PORTAL_BROWSER", "/usr/bin/chromium")
    if not Path(path).exists():
        raise AssertionError(f"{path}: no Chromium (make test installs Debian's; or set PORTAL_BROWSER)")
    return path


def texte(value: str) -> str:
    """A formatted amount as a page's text content has it (no-break spaces included)."""
    return format_amount(value)


@dataclass
class Visits:
    """Every page a test saw: checked by axe, and shot for the README."""

    folder: Path
    axe: Axe = field(default_factory=Axe)

    def check(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        results = self.axe.run(page)
        serious = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not serious, f"{name} ({page.url}): accessibility violations {serious}"


class Api:
    """One demo login on the services' own APIs, to read what the pages must show."""

    def __init__(self, stack: RunningStack, login: str) -> None:
        answer = httpx.post(f"{stack.auth}/v1/sessions", json={"login": login, "password": PASSWORD}, timeout=10)
        assert answer.status_code == 201, answer.text
        self.stack = stack
        self.http = httpx.Client(headers={"authorization": f"Bearer {answer.json()['access_token']}"}, timeout=30)

    def get(self, url: str) -> Any:
        answer = self.http.get(url)
        assert answer.status_code == 200, (url, answer.status_code, answer.text)
        return answer.json()

    def debt(self, affiliate: str) -> Any:
        return self.get(f"{self.stack.debt}/v1/affiliates/{affiliate}/debt")

    def request(self, request_id: str) -> Any:
        return self.get(f"{self.stack.requests}/v1/requests/{request_id}")

    def quote(self, quote_id: str) -> Any:
        return self.get(f"{self.stack.simulation}/v1/simulations/{quote_id}")

    def options(self, affiliate: str) -> Any:
        answer = self.http.post(f"{self.stack.simulation}/v1/simulations/options", json={"affiliate": affiliate})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def simulate(self, affiliate: str, modality: str, installments: int | None = None) -> str:
        """A quote's id, as simulation issued it to this login."""
        body = {"affiliate": affiliate, "modality": modality, "installments": installments}
        answer = self.http.post(f"{self.stack.simulation}/v1/simulations", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["quote_id"])

    def settled(self, affiliate: str, timeout: float = 90) -> None:
        """The demo debt arrives by Kafka after start, in several versions: wait until debt,
        requests and simulation agree on the latest (a quote on an older version is refused)."""
        deadline = time.monotonic() + timeout
        while True:
            debt = self.http.get(f"{self.stack.debt}/v1/affiliates/{affiliate}/debt").json()
            eligibility = self.http.get(f"{self.stack.requests}/v1/affiliates/{affiliate}/eligibility").json()
            options = self.http.post(
                f"{self.stack.simulation}/v1/simulations/options", json={"affiliate": affiliate}
            ).json()
            versions = {debt.get("version"), eligibility.get("debt_version"), options.get("debt_version")}
            if len(versions) == 1 and None not in versions:
                return
            assert time.monotonic() < deadline, f"{affiliate}: versions never agreed {versions}"
            time.sleep(0.5)


def request_id_of(page: Page) -> str:
    found = re.search(r"/demandes/([0-9a-f-]{36})", page.url)
    assert found, page.url
    return found.group(1)


def quote_id_of(page: Page) -> str:
    found = re.search(r"devis=([0-9a-f-]{36})", page.url)
    assert found, page.url
    return found.group(1)


def eventually(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.3)
