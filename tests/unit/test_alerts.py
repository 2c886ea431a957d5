"""The alert rules read only series the services expose, and every alert has its runbook section."""

import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from services.runtime.metrics import Metrics, StateGauge

ROOT = Path(__file__).parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RUNBOOK = ROOT / "docs" / "operations.md"
PROMQL_WORDS = {
    "sum", "by", "rate", "increase", "histogram_quantile", "and", "or", "unless", "offset", "on",
    "without", "max", "min", "avg", "count", "delta", "le", "status", "service", "job", "topic", "state", "priority",
}  # fmt: skip


def exposed() -> set[str]:
    """Every series name one service's /metrics can carry, with the state gauges of requests and debits."""
    metrics = Metrics("any", registry=CollectorRegistry())

    async def none(_: object) -> dict[str, int]:
        return {}

    metrics.count_states(
        [
            StateGauge("requests", "x", none, ()),
            StateGauge("debits", "x", none, ()),
            StateGauge("debit_orders_unanswered", "x", none, ()),
            StateGauge("debit_plans_held", "x", none, ()),
            StateGauge("guarantee_requests", "x", none, ()),
            StateGauge("contributions_watch", "x", none, ()),
            StateGauge("notifications", "x", none, ()),
        ]
    )
    names: set[str] = {"up"}
    for family in metrics.registry.collect():
        names |= {family.name, f"{family.name}_total", f"{family.name}_bucket", f"{family.name}_count"}
        names |= {f"{family.name}_sum"}
    return names


def anchors() -> set[str]:
    headings = re.findall(r"^#+ (.+)$", RUNBOOK.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}


def rules() -> list[dict[str, object]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_every_alert_reads_series_the_services_expose() -> None:
    names = exposed()
    for rule in rules():
        expr = str(rule["expr"])
        expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
        expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
        expr = re.sub(r'"[^"]*"', "", expr)
        used = {w for w in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", expr) if w not in PROMQL_WORDS}
        assert used <= names, f"{rule['alert']}: {sorted(used - names)} is exposed by no service"


def test_every_alert_has_a_runbook_section_and_a_severity() -> None:
    found = anchors()
    for rule in rules():
        url = str(rule["annotations"]["runbook_url"])  # type: ignore[index]
        page, _, anchor = url.partition("#")
        assert page == "docs/operations.md" and anchor in found, f"{rule['alert']}: no section {anchor}"
        assert rule["labels"]["severity"] in {"page", "ticket"}  # type: ignore[index]


def test_a_misnamed_series_is_caught() -> None:
    # the check above can fail: a series no service exposes is not among the names
    assert "recouvrement_outbox_age" not in exposed()
    assert "recouvrement_outbox_oldest_age_seconds" in exposed()
