"""The gateway guide's examples (``docs/gateways.md``, issue 17) run as written against a whole
stack: a guide whose commands no longer work is a broken contract too."""

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import RunningStack
from tests.support import eventually

pytestmark = pytest.mark.e2e

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "gateways.md"


def example_blocks() -> list[str]:
    examples = GUIDE.read_text(encoding="utf-8").split("\n## Examples\n", 1)[1]
    return re.findall(r"```sh\n(.*?)```", examples, flags=re.DOTALL)


async def until_eligible(stack: RunningStack) -> None:
    """The demo ledger flows in through Kafka after the start: the examples' affiliate has something
    to remit once requests has its whole position (the guide's reader has a settled stack)."""
    session = httpx.post(f"{stack.auth}/v1/sessions", json={"login": "demo.simple", "password": "Demo-2024!"})
    token, [affiliate] = session.json()["access_token"], session.json()["affiliates"]

    async def eligible() -> bool:
        answer = httpx.get(
            f"{stack.requests}/v1/affiliates/{affiliate['numero']}/eligibility",
            headers={"Authorization": f"Bearer {token}"},
        )
        return bool(answer.json()["eligible"])

    await eventually(eligible, timeout=90, interval=0.5)


async def test_the_guides_examples_run_against_the_stack(stack: RunningStack, tmp_path: Path) -> None:
    await until_eligible(stack)
    blocks = example_blocks()
    assert len(blocks) >= 5
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AUTH": stack.auth,
        "DEBT": stack.debt,
        "SIMULATION": stack.simulation,
        "REQUESTS": stack.requests,
    }
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"affiliate \d{7}", lines[0]), lines
    assert re.fullmatch(r"\d+\.\d{2}", lines[1]), lines  # the eligible total: an amount as a string
    quotes = [line for line in lines if re.fullmatch(r"[0-9a-f-]{36}", line)]
    assert len(quotes) == 2 and quotes[0] == quotes[1]  # one key, one quote: the second try replayed
    assert "404 application/problem+json" in lines
    assert lines[-1] == "affilie-introuvable"
