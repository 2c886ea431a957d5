"""A believable ``debt.ledger.v1`` stream, as serialized bytes, built once before anything is measured.

Each affiliate falls into arrears for 3 to 6 consecutive periods starting somewhere in 2019-2025, and
the core system books, month after month: the contribution due for the period (principal), a
majoration for every period still unpaid (3 % of the principal the first month late, 1 % per further
month), one astreinte and one collection fee (frais). Each affiliate's stream is cut at exactly
``per_affiliate`` entries (20 by default: principal on 3-6 periods, majorations on most, astreinte and
frais on the first).

The JSON is written with an f-string (pydantic would take minutes for a million messages); a random
sample is validated with ``DEBT_LEDGER.adapter()`` and must re-serialize to the very same bytes.
"""

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from contracts.topics import DEBT_LEDGER

Order = Literal["month", "affiliate"]
ORDERS: dict[str, str] = {
    "month": "month by month across all affiliates (a core system's monthly booking run; many "
    "affiliates per batch = the most position events)",
    "affiliate": "affiliate by affiliate, each one's history in booking order (a migration / replay; "
    "few affiliates per batch)",
}
FIRST_MONTH = 2019 * 12  # 2019-01
LAST_START = 2025 * 12 + 5  # 2025-06
ASTREINTES = (50_000, 100_000, 150_000, 200_000)  # centimes
FIRST_AFFILIATE = 2_000_000


@dataclass(frozen=True)
class Ledger:
    messages: list[tuple[bytes, bytes]]
    """(key, value) in publication order."""
    affiliates: int
    periods: int
    """(affiliate, period) pairs, i.e. ``period_balance`` rows once applied."""
    order: str


def _period(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def _booked_on(month: int) -> str:
    """Booked on the 1st of the month after ``month`` (the period's contribution falls due then)."""
    return f"{(month + 1) // 12:04d}-{(month + 1) % 12 + 1:02d}-01"


def _money(centimes: int) -> str:
    return f"{centimes // 100}.{centimes % 100:02d}"


def _affiliate_entries(rng: random.Random, per_affiliate: int) -> Iterator[tuple[int, str, int, str]]:
    """(booking month, category, period month, amount) in booking order, never fewer than asked."""
    start = rng.randint(FIRST_MONTH, LAST_START)
    length = rng.randint(3, 6)
    principal = {start + i: rng.randint(50_000, 5_000_000) for i in range(length)}
    produced = 0
    month = start
    while True:
        todo: list[tuple[str, int, int]] = []
        if month in principal:
            todo.append(("principal", month, principal[month]))
        for period, amount in principal.items():
            if period < month:
                rate = 3 if month - period == 1 else 1
                todo.append(("majorations", period, max(1, amount * rate // 100)))
        if month == start + 2:
            todo.append(("astreintes", start, rng.choice(ASTREINTES)))
        if month == start + 3:
            todo.append(("frais", start, max(1, sum(principal.values()) * 5 // 100)))
        for category, period, amount in todo:
            yield month, category, period, _money(amount)
            produced += 1
            if produced >= per_affiliate:
                return
        month += 1


def generate(entries: int, affiliates: int, order: Order, seed: int = 2024) -> Ledger:
    rng = random.Random(seed)
    per_affiliate = max(1, entries // affiliates)
    rows: list[tuple[int, int, int, str, int, str]] = []  # sort key (month, affiliate, seq) + payload
    for index in range(affiliates):
        affiliate = FIRST_AFFILIATE + index
        for seq, (month, category, period, amount) in enumerate(_affiliate_entries(rng, per_affiliate)):
            rows.append((month, affiliate, seq, category, period, amount))
    if order == "affiliate":
        rows.sort(key=lambda r: (r[1], r[2]))
    else:
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
    messages = []
    periods = set()
    for month, affiliate, seq, category, period, amount in rows:
        number = f"{affiliate:07d}"
        booked = _booked_on(month)
        event_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        value = (
            f'{{"event_id":"{event_id}","type":"ledger.charge_booked","occurred_at":"{booked}T09:00:00Z",'
            f'"producer":"cnss-core","correlation_id":null,"payload":{{"entry_id":"CB:{number}:{seq:03d}",'
            f'"affiliate":"{number}","period":"{_period(period)}","category":"{category}","amount":"{amount}",'
            f'"booked_on":"{booked}"}}}}'
        )
        messages.append((number.encode(), value.encode()))
        periods.add((affiliate, period))
    return Ledger(messages, affiliates, len(periods), order)


def verify_sample(ledger: Ledger, size: int = 2000, seed: int = 7) -> int:
    """Validate a random sample against the contract; each must round-trip to the same JSON."""
    adapter = DEBT_LEDGER.adapter()
    rng = random.Random(seed)
    sample = rng.sample(ledger.messages, min(size, len(ledger.messages)))
    for key, value in sample:
        model = adapter.validate_json(value)
        if adapter.dump_json(model) != value:
            raise AssertionError(f"not canonical: {value!r} vs {adapter.dump_json(model)!r}")
        if model.payload.affiliate.encode() != key:
            raise AssertionError("key is not the affiliate")
    return len(sample)
