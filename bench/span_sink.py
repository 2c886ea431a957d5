"""Where the flow bench's services export their spans (``flows_deployed``, or ``flows`` with
``BENCH_FLOW_EXPORT=1``): tracing measured as deployed (an OTLP endpoint set, ``BatchSpanProcessor``,
protobuf over HTTP), not only built. It receives from the services' start: the setup's spans (the
ledger, the positions) are counted with the flows'.

Its own process, so that parsing the spans takes nothing from the bench's client; the bench counts its
CPU apart from the platform's. It is the end-to-end tests' receiver (``tests/e2e/otlp_receiver.py``):
every span is parsed, so what it reports is what arrived. On SIGTERM it writes what it received to
``OUT``: spans per service and per name, traces, and how many traces crossed one service, two, three...

    python -m bench.span_sink OUT      # prints "endpoint http://127.0.0.1:PORT" once listening
"""

import json
import signal
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path
from types import FrameType

from tests.e2e.otlp_receiver import OtlpReceiver


def summary(receiver: OtlpReceiver) -> dict[str, object]:
    per_service: dict[str, int] = defaultdict(int)
    per_name: Counter[str] = Counter()
    seen_by: dict[str, set[str]] = defaultdict(set)
    for span in receiver.spans:
        per_service[span.service] += 1
        per_name[f"{span.service}: {span.name}"] += 1
        seen_by[span.trace_id].add(span.service)
    return {
        "spans": len(receiver.spans),
        "per_service": dict(sorted(per_service.items())),
        "most_common": per_name.most_common(40),
        "traces": len(seen_by),
        "traces_by_services_crossed": dict(sorted(Counter(len(seen) for seen in seen_by.values()).items())),
        "rejected": len(receiver.rejected),
    }


def main() -> None:
    out = Path(sys.argv[1])
    receiver = OtlpReceiver()
    receiver.start()
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"endpoint {receiver.endpoint}", flush=True)
    stopped.wait()
    receiver.stop()
    out.write_text(json.dumps(summary(receiver)))


if __name__ == "__main__":
    main()
