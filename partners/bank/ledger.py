"""The bank's book of presented debits: each end-to-end id is collected once.

Banks deduplicate direct debits by their end-to-end id (pain.008 ``EndToEndId``): an order presented
a second time is not collected again but rejected ``AM05`` (duplicate collection). The same
*record* read again (the bank restarted before committing its offset) is not a second presentation:
it gets the same answer, with the same event id, which debits' inbox applies once.

The reference bank keeps its book for its process's life (a real bank's books outlive it): after a
restart it would collect an order delivered twice again, which is why debits' relay does not rely
on the bank and sends nothing twice in the first place.
"""

from typing import Literal

Where = tuple[str, int, int]
"""topic, partition, offset of the record that presented an order"""

Presentation = Literal["first", "again", "duplicate"]


class Ledger:
    def __init__(self) -> None:
        self._first: dict[str, Where] = {}
        self.duplicates = 0

    def present(self, end_to_end_id: str, where: Where) -> Presentation:
        first = self._first.get(end_to_end_id)
        if first is None:
            self._first[end_to_end_id] = where
            return "first"
        if first == where:
            return "again"
        self.duplicates += 1
        return "duplicate"
