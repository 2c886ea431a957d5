"""After the broker was replaced, a consumer commits nothing until its group has formed again.

Why: a consumer still holds the positions it had on the lost, memory-only broker (the embedded
stack's). A handler that was running across the restart ends, and the commit after it (FastStream
commits every position the consumer holds) reaches the new broker, whose group for it is new: Tansu
takes it. Once the group forms, the consumer starts from those positions, past what the new log holds
on the partition, and Tansu makes a fetch there wait instead of answering out of range (Kafka would
reset it): what lands there is never read. ``make chaos`` caught it twice in one run: a bank's group
had committed 3 on a partition whose new log held 2 records, and a replayed order there went unread.

So, told the broker was replaced (``broker_replaced.BROKER_REPLACED``), each consumer holds its
commits until it joins its group again (it will: the new broker knows no member); and a commit
computed from an assignment the consumer no longer has is never sent (one in flight across the rejoin).
Not committing costs at most reading a record again, which every consumer here absorbs (inboxes, the
partners' answers keyed by their ids). Only the embedded stack sends the signal: a real broker keeps
its log, and the old positions stay right.

aiokafka has no hook for this: the group coordinator's ``_do_commit_offsets`` and
``_on_join_complete`` are wrapped (aiokafka is pinned; ``tests/unit/test_member_commits.py`` holds
the names).
"""

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer

log = logging.getLogger(__name__)

_GUARD = "_recouvrement_commit_guard"


class CommitGuard:
    """One per consumer, installed once its coordinator exists (after ``start``)."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.held = False
        coordinator = consumer._coordinator
        self._group = consumer._group_id
        send = coordinator._do_commit_offsets
        joined = coordinator._on_join_complete

        async def guarded_send(assignment: Any, offsets: Any) -> None:
            if self.held or not assignment.active:
                log.info(
                    "commit not sent: positions from before the broker was replaced, or from a past assignment",
                    extra={"group": self._group, "held": self.held},
                )
                return
            await send(assignment, offsets)

        async def on_joined(*args: Any, **kwargs: Any) -> Any:
            self.held = False  # the new assignment's positions come from the new broker
            return await joined(*args, **kwargs)

        coordinator._do_commit_offsets = guarded_send
        coordinator._on_join_complete = on_joined

    def hold(self) -> None:
        self.held = True


def guard_commits(consumer: AIOKafkaConsumer) -> None:
    if consumer._coordinator is not None and getattr(consumer, _GUARD, None) is None:
        setattr(consumer, _GUARD, CommitGuard(consumer))


def hold_commits(consumer: AIOKafkaConsumer) -> None:
    guard = getattr(consumer, _GUARD, None)
    if guard is not None:
        guard.hold()
