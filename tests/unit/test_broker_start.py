"""Consumer groups join at once when a service starts (issue 14: the start of make run)."""

import inspect

from faststream._internal.broker.broker import BrokerUsecase
from faststream.kafka import KafkaBroker


def test_faststream_still_starts_a_broker_as_start_consuming_does_at_once() -> None:
    """``start_consuming`` gathers what FastStream's broker start does in a loop: connect, start each
    subscriber, then each publisher, then mark it running."""
    loop = inspect.getsource(BrokerUsecase.start)
    assert "for sub in self.subscribers:\n            await sub.start()" in loop
    assert "for pub in self.publishers:\n            await pub.start()" in loop
    assert "self.running = True" in loop
    kafka = inspect.getsource(KafkaBroker.start)
    assert "await self.connect()" in kafka and "await super().start()" in kafka
