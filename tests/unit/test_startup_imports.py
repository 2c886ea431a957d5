"""What a service's process imports before it serves: only what every request may need.

Nine processes start at once under ``make run`` on a machine of two cores, so an import is paid nine
times over (issue 14's start-up aim, 15 s). Three imports were moved to their first use on
2026-12-07: ``holidays`` (0.19 s of CPU, dates are asked by three services of seven), the OTLP
exporter and its protobuf (0.12 s, loaded only when an endpoint is set) and fpdf2 (0.3 s, a document
made when a plan completes or a receipt is downloaded). In one process each, ``-X importtime``:
the seven ``services.*.main`` modules went from 19.2 to 15.2 s of import in all (medians of three)."""

import json
import subprocess
import sys

import pytest

LATER = ("holidays", "fpdf", "fontTools", "PIL", "google.protobuf", "opentelemetry.exporter.otlp.proto.http")


@pytest.mark.parametrize("service", ["auth", "debt", "requests", "simulation", "debits", "notifications", "portal"])
def test_a_service_starts_without_what_it_needs_only_later(service: str) -> None:
    probe = f"import json, sys; import services.{service}.main; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout))
    assert sorted(name for name in LATER if name in loaded) == []
