"""The affiliates: the scripted ones the README promises, the random ones, and their spells of lateness."""

import math
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from contracts.auth import Contact
from services.auth.service.import_accounts import AffiliateRecord
from services.stack.demo_data.calendar import _day, _due_date, _month, _month_of, _period
from services.stack.demo_data.model import (
    _ACTIVITIES,
    _LEGAL_FORMS,
    _NAMES,
    FIRST_PERIOD,
    FIRST_RANDOM_AFFILIATE,
    PERCEPTIONS,
)

Penalties = Literal["impayees", "payees", "partielles"]


@dataclass(frozen=True)
class _Arrears:
    """A spell of unpaid contributions and how it ended.

    Without an arrangement the arrears are settled in one payment on ``settlement`` (``None``: still
    unpaid). With one, the perception collects one period a month from the month after ``opening``;
    an active arrangement is simply one whose collection has not finished by ``today``.
    """

    start: int
    duration: int
    settlement: date | None = None
    penalties: Penalties = "impayees"
    arrangement: Literal["aucun", "clos", "actif"] = "aucun"
    opening: date | None = None
    astreinte: bool = False
    recouvrement: bool = False

    @property
    def end(self) -> int:
        return self.start + self.duration - 1

    def covers(self, month: int) -> bool:
        return self.start <= month <= self.end


@dataclass(frozen=True)
class _Employer:
    record: AffiliateRecord
    payroll: Decimal  # the monthly contribution of its first year, before growth and noise
    start: int  # first period it owes
    arrears_list: tuple[_Arrears, ...]
    bank_accounts: int
    description: str = ""


def _ice(numero: str) -> str:
    """A well-formed 15-digit ICE: 9 for the company, 4 for the establishment, 2 of key.

    The key uses the RIB's modulo 97 only so the numbers look alike; the ICE's own rule is not public.
    """
    body = f"00{numero}0001"
    return body + f"{97 - int(body) % 97:02d}"


def _contact(numero: int) -> Contact:
    """Where the demo affiliate is told what happens (the embedded stack's mail sink and SMS file get
    them all): made-up addresses on exemple.ma, one affiliate in three in Arabic."""
    return Contact(
        email=f"contact.{numero}@exemple.ma",
        mobile=f"+2126{numero % 100_000_000:08d}",
        language="ar" if numero % 3 == 0 else "fr",
    )


def _record(numero: int, raison_sociale: str, perception: str) -> AffiliateRecord:
    return AffiliateRecord(
        numero=str(numero),
        raison_sociale=raison_sociale,
        ice=_ice(str(numero)),
        perception=PERCEPTIONS[perception][0],
        contact=_contact(numero),
    )


def _scripted_employers(today: date) -> list[_Employer]:
    """The four affiliates of demo.simple and demo.groupe: their spells are fixed, only amounts vary."""
    m = _month
    # The active arrangement opened nine months ago, so it is still collecting whatever ``today`` is.
    opening = max(_day(_month_of(today) - 9, 15), date(2024, 9, 15))
    return [
        _Employer(
            _record(1000001, "Atlas Textiles SARL", "CAS-01"),
            Decimal("18500.00"),
            m(FIRST_PERIOD),
            (
                _Arrears(m("2017-03"), 4, date(2017, 11, 6), "impayees", astreinte=True),
                _Arrears(m("2019-06"), 6, None, "partielles", "clos", date(2020, 2, 17), recouvrement=True),
                _Arrears(m("2024-05"), 4, None, "impayees", astreinte=True, recouvrement=True),
            ),
            bank_accounts=2,
            description="pénalités à remettre et cotisations 2024 impayées ; un ancien arrangement clos",
        ),
        _Employer(
            _record(1000002, "Sahara Logistique SA", "RAB-02"),
            Decimal("64000.00"),
            m("2016-01"),
            (
                _Arrears(m("2016-08"), 3, date(2017, 2, 14), "impayees", astreinte=True),
                _Arrears(m("2021-01"), 6, date(2021, 11, 22), "partielles", recouvrement=True),
            ),
            bank_accounts=1,
            description="majorations et astreintes à remettre",
        ),
        _Employer(
            _record(1000003, "Oasis Agro Export SARL", "FES-01"),
            Decimal("9200.00"),
            m("2018-04"),
            (_Arrears(m("2023-01"), 18, None, "impayees", "actif", opening, astreinte=True, recouvrement=True),),
            bank_accounts=1,
            description="arrangement actif à la Perception Fès Saïs : la demande est refusée",
        ),
        _Employer(
            _record(1000004, "Rif Céramique SARL AU", "TNG-01"),
            Decimal("5400.00"),
            m("2017-09"),
            (
                _Arrears(m("2018-02"), 3, date(2018, 7, 12), "payees", astreinte=True),
                _Arrears(m("2020-04"), 3, date(2020, 10, 5), "payees"),
            ),
            bank_accounts=1,
            description="rien à remettre : toutes ses pénalités jusqu'à 2024-12 sont payées",
        ),
    ]


def _random_employers(rng: random.Random, count: int, today: date) -> list[_Employer]:
    reasons = [f"{n} {a} {f}" for n in _NAMES for a in _ACTIVITIES for f in _LEGAL_FORMS]
    rng.shuffle(reasons)
    perceptions = sorted(PERCEPTIONS)
    employers = []
    for i in range(count):
        reason = reasons[i % len(reasons)] + (f" {i // len(reasons) + 1}" if i >= len(reasons) else "")
        # Log-uniform so small employers are as common as large ones, as in the CNSS population.
        mass = Decimal(int(math.exp(rng.uniform(math.log(3000), math.log(180000))))).quantize(Decimal("0.01"))
        start = rng.randint(_month(FIRST_PERIOD), _month("2023-06"))
        employers.append(
            _Employer(
                _record(FIRST_RANDOM_AFFILIATE + i, reason, rng.choice(perceptions)),
                mass,
                start,
                _random_arrears(rng, start, today),
                bank_accounts=rng.choice((1, 1, 2)),
            )
        )
    return employers


def _random_arrears(rng: random.Random, start: int, today: date) -> tuple[_Arrears, ...]:
    """Zero to three late spells, and for about one affiliate in ten an arrangement still running."""
    last = _month_of(today) - 2  # the last period already due
    active = _arrears_in_active_arrangement(rng, start, today) if rng.random() < 0.10 else None
    taken = [active] if active else []
    for _ in range(rng.choices((0, 1, 2, 3), (15, 35, 30, 20))[0]):
        duration = rng.randint(1, 8)
        if last - duration < start:
            continue
        candidate = _Arrears(rng.randint(start, last - duration + 1), duration)
        if all(candidate.end + 1 < r.start or r.end + 1 < candidate.start for r in taken):
            taken.append(candidate)
    bound = active.opening if active and active.opening else today
    free_after = date.min
    arrears_list = []
    for draft in sorted(taken, key=lambda r: r.start):
        arrears = draft if draft is active else _random_outcome(rng, draft, today, bound, free_after)
        if arrears.arrangement == "clos":
            free_after = _closing(arrears)
        arrears_list.append(arrears)
    return tuple(arrears_list)


def _arrears_in_active_arrangement(rng: random.Random, start: int, today: date) -> _Arrears | None:
    duration = rng.randint(6, 14)
    months_elapsed = rng.randint(2, duration - 1)  # fewer installments collected than periods: still running
    opening = _day(_month_of(today) - months_elapsed, rng.randint(1, 28))
    end = _month_of(opening) - 2 - rng.randint(0, 3)
    if end - duration + 1 < start:
        return None
    return _Arrears(
        end - duration + 1, duration, None, "impayees", "actif", opening, rng.random() < 0.5, rng.random() < 0.5
    )


def _random_outcome(rng: random.Random, arrears: _Arrears, today: date, bound: date, free_after: date) -> _Arrears:
    """Draws how a spell ended; a closed arrangement must fit between the others and before ``bound``."""
    due_date = _due_date(arrears.end)
    delay = rng.choice((1, 1, 2, 2, 3, 4, 6, 9, 12, 18))  # months after the last due date; most catch up fast
    settlement: date | None = _day(_month_of(due_date) + delay, rng.randint(1, 28))
    if rng.random() < 0.12 or (settlement is not None and settlement >= today):
        settlement = None
    arrangement: Literal["aucun", "clos"] = "aucun"
    opening = None
    if settlement is not None and arrears.duration >= 3 and rng.random() < 0.3:
        opening = _day(_month_of(due_date) + rng.randint(1, 4), rng.randint(1, 28))
        arrangement = "clos"
    penalties: Penalties = "impayees"
    if settlement is not None:
        penalties = rng.choices(("impayees", "payees", "partielles"), (55, 25, 20))[0]
    astreinte, recouvrement = rng.random() < 0.35, rng.random() < 0.4
    candidate = _Arrears(
        arrears.start, arrears.duration, settlement, penalties, arrangement, opening, astreinte, recouvrement
    )
    if opening is not None and not (free_after < opening and _closing(candidate) < bound):
        # It would overlap another arrangement or still be running: settled in one payment instead.
        return replace(candidate, arrangement="aucun", opening=None)
    return candidate


def _payment_in_arrangement(arrears: _Arrears, rank: int) -> date:
    """The perception collects the oldest period first, on the 10th of each month after opening."""
    assert arrears.opening is not None
    return _day(_month_of(arrears.opening) + rank + 1, 10)


def _closing(arrears: _Arrears) -> date:
    return _payment_in_arrangement(arrears, arrears.duration - 1) + timedelta(days=3)


def _arrangement_id(numero: str, arrears: _Arrears) -> str:
    return f"DEMO-ARR-{numero}-{_period(arrears.start)}"
