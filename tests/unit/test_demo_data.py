"""The demo data: deterministic, believable, and consistent with every contract and business rule it shows."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.debt import ArrangementClosed, ArrangementOpened, ChargeBooked, PaymentReceived
from contracts.identifiers import is_valid_rib
from contracts.topics import DEBT_LEDGER
from services.auth.service.import_accounts import DamancomExport
from services.auth.service.passwords import Passwords
from services.cli import _demo_prepared_meanwhile
from services.stack.demo_data import PASSWORD, DemoDataset, generate, majoration, months_late_between
from services.stack.seed import PreparedDemo, hashed_once

CUTOFF = "2024-12"
PENALTIES = ("majorations", "astreintes", "frais")
TODAY = date(2026, 11, 1)


@dataclass
class Position:
    """What the ledger says of one affiliate, folded here independently of the generator."""

    due: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    paid: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    open_arrangements: set[str] = field(default_factory=set)
    closed_arrangements: set[str] = field(default_factory=set)

    def outstanding(self, period: str, category: str) -> Decimal:
        return self.due[period, category] - self.paid[period, category]

    def eligible_penalties(self) -> Decimal:
        periods = {p for p, _ in self.due if p <= CUTOFF}
        return sum((self.outstanding(p, c) for p in periods for c in PENALTIES), Decimal(0))


def fold(dataset: DemoDataset) -> dict[str, Position]:
    """Folds the ledger in publication order; fails as soon as a payment exceeds what is due."""
    positions: dict[str, Position] = defaultdict(Position)
    for key, message in dataset.ledger:
        position = positions[key]
        match message:
            case ChargeBooked(payload=p):
                position.due[p.period, p.category] += p.amount
            case PaymentReceived(payload=p):
                position.paid[p.period, p.category] += p.amount
                assert position.outstanding(p.period, p.category) >= 0, p.entry_id
            case ArrangementOpened(payload=o):
                assert not position.open_arrangements, f"{key}: two arrangements at once"
                position.open_arrangements.add(o.arrangement_id)
            case ArrangementClosed(payload=c):
                position.open_arrangements.remove(c.arrangement_id)
                position.closed_arrangements.add(c.arrangement_id)
    return positions


def accounts(dataset: DemoDataset) -> dict[str, list[str]]:
    return {a.login: list(a.affiliates) for a in dataset.export.accounts}


def assert_invariants(dataset: DemoDataset, today: date = TODAY) -> None:
    adapter = DEBT_LEDGER.adapter()
    entry_ids = [m.payload.entry_id for _, m in dataset.ledger]
    assert len(entry_ids) == len(set(entry_ids))
    assert len({m.event_id for _, m in dataset.ledger}) == len(dataset.ledger)
    known = {a.numero for a in dataset.export.affiliates}
    last_date = date.min
    for key, message in dataset.ledger:
        assert adapter.validate_json(message.model_dump_json()) == message
        assert key == message.payload.affiliate and key in known
        assert message.producer == "seeder" and message.occurred_at.utcoffset() == UTC.utcoffset(None)
        booked = message.occurred_at.date()
        assert last_date <= booked <= today, "published by date, never in the future"
        last_date = booked
        if isinstance(message, ChargeBooked | PaymentReceived):
            amount = message.payload.amount
            assert amount > 0 and amount == amount.quantize(Decimal("0.01"))
            assert "2015-01" <= message.payload.period < f"{today:%Y-%m}"
    for position in fold(dataset).values():
        assert all(position.outstanding(p, c) >= 0 for p, c in position.due)
    assert DamancomExport.model_validate(dataset.export.model_dump()) == dataset.export
    for account in dataset.bank_accounts:
        assert is_valid_rib(account.rib) and account.bank_code == account.rib[:3] and account.affiliate in known
    assert len({b.id for b in dataset.bank_accounts}) == len(dataset.bank_accounts)
    assert {b.affiliate for b in dataset.bank_accounts} == known
    assert_fixed_accounts(dataset)


def assert_fixed_accounts(dataset: DemoDataset) -> None:
    logins = accounts(dataset)
    positions = fold(dataset)
    (simple,) = logins["demo.simple"]
    assert positions[simple].eligible_penalties() > 0
    assert not positions[simple].open_arrangements
    group = logins["demo.groupe"]
    assert len(group) >= 3
    with_arrangement = [a for a in group if positions[a].open_arrangements]
    to_remit = [a for a in group if not positions[a].open_arrangements and positions[a].eligible_penalties() > 0]
    nothing = [a for a in group if not positions[a].open_arrangements and positions[a].eligible_penalties() == 0]
    assert with_arrangement and to_remit and nothing


@pytest.fixture(scope="module")
def dataset() -> DemoDataset:
    return generate()


def test_majoration_is_3_percent_then_1_percent_per_further_month() -> None:
    assert majoration(Decimal("10000.00"), 1) == Decimal("300.00")
    assert majoration(Decimal("10000.00"), 3) == Decimal("500.00")
    assert majoration(Decimal("12345.67"), 4) == Decimal("740.74")  # 6 % = 740.7402
    assert majoration(Decimal("1000.50"), 3) == Decimal("50.03")  # 50.025: half-up, not half-even
    assert majoration(Decimal("10000.00"), 0) == Decimal("0.00")
    assert majoration(Decimal("10000.00"), -2) == Decimal("0.00")


def test_every_started_month_of_delay_counts() -> None:
    echeance = date(2024, 6, 10)
    assert months_late_between(echeance, date(2024, 6, 10)) == 0
    assert months_late_between(echeance, date(2024, 6, 11)) == 1
    assert months_late_between(echeance, date(2024, 7, 10)) == 1
    assert months_late_between(echeance, date(2024, 7, 11)) == 2
    assert months_late_between(echeance, date(2025, 6, 10)) == 12


def test_same_arguments_give_the_same_dataset_event_ids_included() -> None:
    first, second = generate(5, 7), generate(5, 7)
    assert first == second
    assert [m.event_id for _, m in first.ledger] == [m.event_id for _, m in second.ledger]


def test_another_seed_gives_another_dataset() -> None:
    first, other = generate(5, 7), generate(5, 8)
    assert first.ledger != other.ledger
    assert {m.event_id for _, m in first.ledger}.isdisjoint({m.event_id for _, m in other.ledger})


def test_scripted_accounts_do_not_depend_on_how_many_others_there_are() -> None:
    def scripted(dataset: DemoDataset) -> list[object]:
        return [m for key, m in dataset.ledger if key < "1000100"]

    assert scripted(generate(0, 3)) == scripted(generate(12, 3))


def test_default_dataset_holds_every_invariant(dataset: DemoDataset) -> None:
    assert_invariants(dataset)


def test_fixed_logins_and_their_affiliates(dataset: DemoDataset) -> None:
    logins = accounts(dataset)
    assert logins["demo.simple"] == ["1000001"]
    assert logins["demo.groupe"] == ["1000002", "1000003", "1000004"]
    passwords = {a.login: a.password for a in dataset.export.accounts}
    assert passwords["demo.simple"] == passwords["demo.groupe"] == PASSWORD == "Demo-2024!"
    printed = {login: (password, shows) for login, password, shows in dataset.logins}
    assert set(printed) == set(logins)
    assert all(password == PASSWORD and shows for password, shows in printed.values())


def test_the_group_shows_one_of_each_case(dataset: DemoDataset) -> None:
    positions = fold(dataset)
    assert positions["1000002"].eligible_penalties() > 0 and not positions["1000002"].open_arrangements
    assert positions["1000003"].open_arrangements
    assert positions["1000004"].eligible_penalties() == 0 and not positions["1000004"].open_arrangements
    opened = [m.payload for k, m in dataset.ledger if k == "1000003" and isinstance(m, ArrangementOpened)]
    assert [(o.perception.code, o.perception.name) for o in opened] == [("FES-01", "Perception Fès Saïs")]


def test_demo_affiliates_are_labelled_and_believable(dataset: DemoDataset) -> None:
    assert all(a.display_name.startswith("[DEMO] ") for a in dataset.export.accounts)
    numeros = [a.numero for a in dataset.export.affiliates]
    assert numeros[:4] == ["1000001", "1000002", "1000003", "1000004"]
    assert numeros[4:] == [str(1000100 + i) for i in range(20)]
    assert len({a.ice for a in dataset.export.affiliates}) == len(numeros)
    assert {f"demo.affilie.{i:03d}" for i in range(1, 21)} <= set(accounts(dataset))
    principals = [
        m.payload.amount for _, m in dataset.ledger if isinstance(m, ChargeBooked) and m.payload.category == "principal"
    ]
    assert min(principals) > 0 and max(principals) < Decimal("300000.00")


def test_random_affiliates_have_some_active_and_closed_arrangements() -> None:
    positions = fold(generate(60, 11))
    extras = [p for numero, p in positions.items() if numero >= "1000100"]
    assert any(p.open_arrangements for p in extras)
    assert any(p.closed_arrangements for p in extras)
    assert any(p.eligible_penalties() > 0 for p in extras)


def test_default_dataset_is_small() -> None:
    # its speed is not asserted here (a loaded CI machine took 2.7 s once): small is what keeps it fast
    dataset = generate()
    assert 1000 < len(dataset.ledger) < 8000


def test_today_before_the_cut_off_is_refused() -> None:
    with pytest.raises(ValueError):
        generate(today=date(2024, 6, 1))
    with pytest.raises(ValueError):
        generate(-1)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=10_000), affiliates=st.integers(min_value=0, max_value=5))
def test_any_seed_holds_every_invariant(seed: int, affiliates: int) -> None:
    assert_invariants(generate(affiliates, seed))


@settings(max_examples=10, deadline=None)
@given(today=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)), seed=st.integers(0, 100))
def test_any_today_after_the_cut_off_holds_every_invariant(today: date, seed: int) -> None:
    assert_invariants(generate(3, seed, today=today), today)


async def test_the_demo_password_is_hashed_once_and_every_account_logs_in_with_it() -> None:
    export = generate(20, 2024).export
    assert {a.password for a in export.accounts} == {PASSWORD}

    seeded = hashed_once(export)
    assert [a.login for a in seeded.accounts] == [a.login for a in export.accounts]
    assert {a.password for a in seeded.accounts} == {None}  # no plaintext goes to the import
    [the_hash] = {a.password_hash for a in seeded.accounts}  # one argon2id hash, not one per account
    assert the_hash is not None and the_hash.startswith("$argon2id$")
    assert await Passwords().verify(the_hash, PASSWORD)
    assert DamancomExport.model_validate(seeded.model_dump()) == seeded  # the import takes it as it is


async def test_the_demo_made_beside_the_start_is_the_one_the_seeding_would_make() -> None:
    made = _demo_prepared_meanwhile(3, 7).result(timeout=60)
    assert made.dataset == generate(3, 7)
    assert [a.login for a in made.export.accounts] == [a.login for a in made.dataset.export.accounts]
    assert {a.password for a in made.export.accounts} == {None}  # hashed once, as hashed_once does
    [the_hash] = {a.password_hash for a in made.export.accounts}
    assert the_hash is not None and await Passwords().verify(the_hash, PASSWORD)


def test_a_demo_that_could_not_be_made_says_why_to_whoever_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(affiliates: int, seed: int) -> PreparedDemo:
        raise RuntimeError("no demo today")

    monkeypatch.setattr("services.stack.seed.prepared_demo", broken)
    with pytest.raises(RuntimeError, match="no demo today"):
        _demo_prepared_meanwhile(3, 7).result(timeout=60)
