"""The bank's book of presented debits: each end-to-end id is collected once.

Banks deduplicate direct debits by their end-to-end id (pain.008 ``EndToEndId``): an order presented
a second time is not collected again but rejected ``AM05`` (duplicate collection). The same *order*
delivered again is not a second presentation: the same record read again (the bank restarted before
committing its offset), or the same message (same event id) sent again after a broker lost it
(debits replays its outbox's log). It gets the same answer, with the same event id, which debits'
inbox applies once; and if the first answer was lost with the broker, this one closes the order.

The reference bank keeps its book for its process's life (a real bank's books outlive it): after a
restart it would collect an order delivered twice again, which is why debits' relay does not rely
on the bank and sends nothing twice in the first place.
"""

from typing import Literal
from uuid import UUID

Where = tuple[str, int, int]
"""topic, partition, offset of the record that presented an order"""

Presentation = Literal["first", "again", "duplicate"]


class Ledger:
    def __init__(self) -> None:
        self._first: dict[str, tuple[Where, UUID]] = {}
        self.duplicates = 0

    def present(self, end_to_end_id: str, where: Where, message_id: UUID) -> Presentation:
        first = self._first.get(end_to_end_id)
        if first is None:
            self._first[end_to_end_id] = (where, message_id)
            return "first"
        if first[0] == where or first[1] == message_id:
            return "again"
        self.duplicates += 1
        return "duplicate"
