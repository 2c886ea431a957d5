"""The ledger: each affiliate's contributions, lateness, penalties, arrangements and payments, in publication order."""

import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from contracts.debt import (
    ArrangementClosed,
    ArrangementClosedPayload,
    ArrangementOpened,
    ArrangementOpenedPayload,
    Category,
    ChargeBooked,
    ChargeBookedPayload,
    LedgerMessage,
    PaymentReceived,
    PaymentReceivedPayload,
    Perception,
)
from contracts.envelope import Contract
from contracts.money import ZERO, round_half_up
from services.stack.demo_data.calendar import _booking, _day, _due_date, _month_of, _period
from services.stack.demo_data.employers import _arrangement_id, _Arrears, _closing, _Employer, _payment_in_arrangement
from services.stack.demo_data.model import (
    ASTREINTE_AMOUNTS,
    BOOKING_TIME,
    FRAIS_RATE,
    LAST_ELIGIBLE_PERIOD,
    PRODUCER,
    majoration,
    months_late_between,
)


@dataclass
class _History:
    """The ledger of one affiliate as it is written, with what remains due per period and category.

    Every payment is capped by what is due at that point and dated no earlier than the charges it
    settles, so once sorted by date the ledger never shows a negative balance.
    """

    numero: str
    rng: random.Random
    today: date
    entries: list[tuple[date, int, LedgerMessage]] = field(default_factory=list)
    balances: dict[tuple[str, Category], Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    last_debits: dict[tuple[str, Category], date] = field(default_factory=dict)
    open_arrangements: dict[str, Perception] = field(default_factory=dict)
    _counters: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def owes(self, period: str, category: Category, amount: Decimal, on: date) -> None:
        if amount <= 0:
            return
        self._publish(
            ChargeBooked,
            ChargeBookedPayload(
                entry_id=self._entry_id(period, category[0].upper() if category != "principal" else "C"),
                affiliate=self.numero,
                period=period,
                category=category,
                amount=amount,
                booked_on=on,
            ),
            on,
        )
        self.balances[period, category] += amount
        self.last_debits[period, category] = max(on, self.last_debits.get((period, category), on))

    def pays(self, period: str, category: Category, amount: Decimal, on: date) -> None:
        amount = min(amount, self.balances[period, category])
        if amount <= 0 or on > self.today:
            return
        assert on >= self.last_debits[period, category], "un paiement précède sa dette"
        self._publish(
            PaymentReceived,
            PaymentReceivedPayload(
                entry_id=self._entry_id(period, "P"),
                affiliate=self.numero,
                period=period,
                category=category,
                amount=amount,
                received_on=on,
            ),
            on,
        )
        self.balances[period, category] -= amount

    def open(self, arrangement_id: str, perception: Perception, on: date) -> None:
        self._publish(
            ArrangementOpened,
            ArrangementOpenedPayload(
                entry_id=f"{arrangement_id}-O",
                affiliate=self.numero,
                arrangement_id=arrangement_id,
                perception=perception,
                opened_on=on,
            ),
            on,
        )
        self.open_arrangements[arrangement_id] = perception

    def close(self, arrangement_id: str, on: date) -> None:
        self._publish(
            ArrangementClosed,
            ArrangementClosedPayload(
                entry_id=f"{arrangement_id}-F",
                affiliate=self.numero,
                arrangement_id=arrangement_id,
                closed_on=on,
            ),
            on,
        )
        del self.open_arrangements[arrangement_id]

    def eligible_penalties(self) -> Decimal:
        return sum((s for (p, c), s in self.balances.items() if c != "principal" and p <= LAST_ELIGIBLE_PERIOD), ZERO)

    def _entry_id(self, period: str, letter: str) -> str:
        self._counters[period, letter] += 1
        return f"DEMO-{self.numero}-{period}-{letter}-{self._counters[period, letter]}"

    def _publish(self, message: type[LedgerMessage], payload: Contract, on: date) -> None:
        event_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        envelope = message.build(
            payload, producer=PRODUCER, occurred_at=datetime.combine(on, BOOKING_TIME), event_id=event_id
        )
        self.entries.append((on, len(self.entries), envelope))


def _history(employer: _Employer, seed: int, today: date) -> _History:
    # One generator per affiliate: the scripted accounts stay identical whatever the number of others.
    numero = employer.record.numero
    h = _History(numero, random.Random(seed * 10_000_000 + int(numero)), today)
    for month in range(employer.start, _month_of(today)):
        principal = _contribution(h.rng, employer, month)
        h.owes(_period(month), "principal", principal, _booking(month))
        arrears = next((r for r in employer.arrears_list if r.covers(month)), None)
        if arrears is None:
            h.pays(_period(month), "principal", principal, _booking(month) + timedelta(h.rng.randint(1, 9)))
        else:
            _late_period(h, employer, arrears, month, principal)
    for arrears in employer.arrears_list:
        _astreinte(h, arrears)
        _arrangement(h, employer, arrears)
        _penalties_payment(h, arrears)
    return h


def _contribution(rng: random.Random, employer: _Employer, month: int) -> Decimal:
    """Payroll grows about 2 % a year and moves a few percent from month to month."""
    growth = Decimal("1.02") ** ((month - employer.start) // 12)
    noise = 1 + Decimal(rng.randint(-400, 400)) / 10_000
    return round_half_up(employer.payroll * growth * noise)


def _late_period(h: _History, employer: _Employer, arrears: _Arrears, month: int, principal: Decimal) -> None:
    period, due_date = _period(month), _due_date(month)
    if h.rng.random() < 0.25:  # an acompte on time, the rest late
        instalment = round_half_up(principal * Decimal(h.rng.randint(20, 70)) / 100)
        h.pays(period, "principal", instalment, _booking(month) + timedelta(h.rng.randint(1, 9)))
    remainder = h.balances[period, "principal"]
    paid_on = _payment_date(arrears, month)
    if paid_on is not None and paid_on <= h.today:
        h.pays(period, "principal", remainder, paid_on)
        h.owes(period, "majorations", majoration(remainder, months_late_between(due_date, paid_on)), paid_on)
    else:
        paid_on = None
        h.owes(period, "majorations", majoration(remainder, months_late_between(due_date, h.today)), h.today)
    recouvrement = _day(_month_of(due_date) + 3, due_date.day)
    if arrears.recouvrement and recouvrement <= h.today and (paid_on is None or recouvrement < paid_on):
        h.owes(period, "frais", round_half_up(remainder * FRAIS_RATE), recouvrement)


def _payment_date(arrears: _Arrears, month: int) -> date | None:
    if arrears.arrangement != "aucun":
        return _payment_in_arrangement(arrears, month - arrears.start)
    return arrears.settlement


def _astreinte(h: _History, arrears: _Arrears) -> None:
    """A late or missing declaration: a flat amount on the spell's first period, a month after its due date."""
    on = _day(_month_of(_due_date(arrears.start)) + 1, 10)
    if arrears.astreinte and on <= h.today:
        h.owes(_period(arrears.start), "astreintes", h.rng.choice(ASTREINTE_AMOUNTS), on)


def _arrangement(h: _History, employer: _Employer, arrears: _Arrears) -> None:
    if arrears.arrangement == "aucun":
        return
    assert arrears.opening is not None
    arrangement_id = _arrangement_id(h.numero, arrears)
    h.open(arrangement_id, employer.record.perception, arrears.opening)
    if arrears.arrangement == "clos":
        h.close(arrangement_id, _closing(arrears))


def _penalties_payment(h: _History, arrears: _Arrears) -> None:
    if arrears.penalties == "impayees":
        return
    categories: tuple[Category, ...] = ("majorations", "astreintes", "frais")
    periods = [_period(m) for m in range(arrears.start, arrears.end + 1)]
    owed = [(p, c) for p in periods for c in categories if h.balances[p, c]]
    if not owed:
        return
    on = min(h.today, max(h.last_debits[d] for d in owed) + timedelta(h.rng.randint(5, 60)))
    for period, category in owed:
        balance = h.balances[period, category]
        if arrears.penalties == "partielles" and category == "majorations":
            balance = round_half_up(balance * Decimal(h.rng.randint(30, 70)) / 100)
        h.pays(period, category, balance, on)


def _publication_order(histories: Sequence[_History]) -> list[tuple[str, LedgerMessage]]:
    """As the core systems would publish: by date, then affiliate, then the order it was written."""
    entries = [(on, h.numero, rank, e) for h in histories for on, rank, e in h.entries]
    entries.sort(key=lambda x: (x[0], x[1], x[2]))
    return [(numero, envelope) for _, numero, _, envelope in entries]
