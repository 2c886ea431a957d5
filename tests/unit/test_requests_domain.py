"""The request lifecycle and eligibility rules, pure: no database, no broker."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from contracts.calendar import BusinessCalendar
from contracts.debt import Perception, PeriodPosition
from contracts.programme import shipped_programme
from contracts.refusals import Refusal
from contracts.requests import Actor, Guarantee
from contracts.simulation import Quote
from services.requests.domain import guarantees
from services.requests.domain import request as lifecycle
from services.requests.domain.eligibility import ArrangementFact, EligibilityFacts, refusals, remissible
from services.requests.domain.request import QuoteCheck, RemissionRequest

PROGRAMME = shipped_programme("DEC-05-2023")
CALENDAR = BusinessCalendar()
AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 28)
ME = Actor(kind="affiliate", id="demo.simple")
FRESH = QuoteCheck(known_debt_version=3, newer_quote_exists=False)
CAS_01 = Perception(code="CAS-01", name="Perception Casablanca Anfa")


def quote(modality: str = "FULL", **changes: object) -> Quote:
    installments = modality == "INSTALLMENTS"
    body = {
        "quote_id": uuid.uuid4(),
        "affiliate": "1000001",
        "debt_version": 3,
        "issued_at": AT - timedelta(minutes=1),
        "expires_at": AT + timedelta(minutes=29),
        "programme": "DEC-05-2023",
        "modality": modality,
        "tier": "INSTALLMENTS_1_24" if installments else "FULL",
        "rates": {"majorations": "0.60", "frais": "0.60", "astreintes": "0.90"},
        "advance": "1000.00" if installments else "0.00",
        "installments": 2 if installments else 0,
        "eligible_periods": ["2023-05"],
        "eligible": {"principal": "9000.00", "majorations": "500.00", "frais": "0.00", "astreintes": "0.00"},
        "remise": {
            "principal": "0.00",
            "majorations": "300.00",
            "frais": "0.00",
            "astreintes": "0.00",
            "total": "300.00",
        },
        "to_pay": "9200.00",
        "validation_date": "2026-11-28",
        "schedule": (
            [
                {
                    "sequence": 1,
                    "kind": "ADVANCE",
                    "due_date": "2026-12-10",
                    "collection_date": "2026-12-10",
                    "amount": "1000.00",
                },
                {
                    "sequence": 2,
                    "kind": "INSTALLMENT",
                    "due_date": "2027-01-10",
                    "collection_date": "2027-01-12",
                    "amount": "4100.00",
                },
                {
                    "sequence": 3,
                    "kind": "INSTALLMENT",
                    "due_date": "2027-02-10",
                    "collection_date": "2027-02-10",
                    "amount": "4100.00",
                },
            ]
            if installments
            else [
                {
                    "sequence": 1,
                    "kind": "FULL",
                    "due_date": "2026-12-10",
                    "collection_date": "2026-12-10",
                    "amount": "9200.00",
                }
            ]
        ),
    }
    return Quote.model_validate(body | changes)


def draft(modality: str = "FULL") -> RemissionRequest:
    request, _ = lifecycle.open_request(uuid.uuid4(), "1000001", PROGRAMME, AT - timedelta(hours=1), ME)
    request, _ = lifecycle.choose_modality(request, modality, modality == "INSTALLMENTS", AT, ME)  # type: ignore[arg-type]
    request, _ = lifecycle.choose_bank_account(request, "acc-1", {"acc-1"}, AT, ME)
    return request


def validate(request: RemissionRequest, q: Quote, check: QuoteCheck = FRESH) -> lifecycle.Change:
    return lifecycle.validate(
        request,
        q,
        check,
        PROGRAMME.conditions.version,
        PROGRAMME,
        CALENDAR,
        at=AT,
        today=TODAY,
        actor=ME,
        perception=CAS_01,
    )


def test_full_payment_is_validated_at_once_and_dated_from_today() -> None:
    validated, entry = validate(draft(), quote())
    assert (validated.state, entry.from_state, entry.to_state, entry.event) == (
        "VALIDATED",
        "DRAFT",
        "VALIDATED",
        "validated",
    )
    assert validated.validation_date == TODAY
    [debit] = validated.schedule
    assert (debit.due_date, debit.collection_date, debit.amount) == (
        date(2026, 12, 10),
        date(2026, 12, 10),
        Decimal("9200.00"),
    )
    plan = validated.plan()
    assert plan is not None and plan.bank_account_id == "acc-1" and plan.cg_version == PROGRAMME.conditions.version


def test_installments_wait_30_days_then_the_deposit_redates_the_schedule_from_v() -> None:
    waiting, _ = validate(draft("INSTALLMENTS"), quote("INSTALLMENTS"))
    assert waiting.state == "AWAITING_GUARANTEE"
    assert waiting.guarantee_deadline == date(2026, 12, 28)
    guarantee = Guarantee(
        reference="GAR-1", type="NANTISSEMENT", perception="CAS-01", deposited_at=AT + timedelta(days=20)
    )
    perception = Actor(kind="perception", id="CAS-01")
    deposited_on = date(2026, 12, 18)
    validated, entry = guarantees.deposit_guarantee(
        waiting, guarantee, deposited_on, PROGRAMME, CALENDAR, perception, today=deposited_on
    )
    assert (validated.state, validated.validation_date, entry.actor) == ("VALIDATED", deposited_on, perception)
    # V in December, not the quote's November: advance on 10 January (a Sunday, and the 11th is a
    # holiday: collected the 12th), installments on 10 February and 10 March (Aïd al-Fitr, estimated)
    assert [(d.kind, d.due_date, d.collection_date, d.amount) for d in validated.schedule] == [
        ("ADVANCE", date(2027, 1, 10), date(2027, 1, 12), Decimal("1000.00")),
        ("INSTALLMENT", date(2027, 2, 10), date(2027, 2, 10), Decimal("4100.00")),
        ("INSTALLMENT", date(2027, 3, 10), date(2027, 3, 11), Decimal("4100.00")),
    ]


@pytest.mark.parametrize(
    ("perception", "named", "said"),
    [
        (None, None, "pas encore connue de la plateforme"),
        (lifecycle.UNKNOWN_PERCEPTION, None, "pas encore connue de la plateforme"),
        (
            Perception(code="ZZZ", name="Perception hors registre"),
            "ZZZ",
            "La perception ZZZ (Perception hors registre)",
        ),
    ],
)
def test_an_installment_plan_is_refused_when_its_office_has_no_topic(
    perception: Perception | None, named: str | None, said: str
) -> None:
    """Issue 16: a guarantee request never goes out to an office that cannot read it."""
    request = draft("INSTALLMENTS")
    with pytest.raises(Refusal) as refused:
        lifecycle.validate(
            request,
            quote("INSTALLMENTS"),
            FRESH,
            PROGRAMME.conditions.version,
            PROGRAMME,
            CALENDAR,
            at=AT,
            today=TODAY,
            actor=ME,
            perception=perception,
        )
    assert (refused.value.code, refused.value.kind, refused.value.status) == ("perception-inconnue", "conflict", 409)
    assert refused.value.details == {"perception": named} and said in refused.value.message
    # a full payment asks no office: validated whatever auth says of it
    full, _ = lifecycle.validate(
        draft(),
        quote(),
        FRESH,
        PROGRAMME.conditions.version,
        PROGRAMME,
        CALENDAR,
        at=AT,
        today=TODAY,
        actor=ME,
        perception=perception,
    )
    assert full.state == "VALIDATED"
    # an office of the registry handed to the rule: asked
    office = CAS_01 if named is None else perception
    waiting, _ = lifecycle.validate(
        request,
        quote("INSTALLMENTS"),
        FRESH,
        PROGRAMME.conditions.version,
        PROGRAMME,
        CALENDAR,
        at=AT,
        today=TODAY,
        actor=ME,
        perception=office,
        offices={"ZZZ", "CAS-01"},
    )
    assert waiting.state == "AWAITING_GUARANTEE" and waiting.guarantee_perception == office


def test_the_office_asked_acknowledges_a_guarantee_request_and_only_a_waiting_one() -> None:
    waiting, _ = validate(draft("INSTALLMENTS"), quote("INSTALLMENTS"))
    office = Actor(kind="perception", id="CAS-01")
    entry = guarantees.receive_guarantee_request(waiting, office, AT, affiliate_office="CAS-01")
    assert entry is not None
    assert (entry.event, entry.from_state, entry.to_state, entry.actor) == (
        "guarantee_request_received",
        "AWAITING_GUARANTEE",
        "AWAITING_GUARANTEE",
        office,
    )
    with pytest.raises(Refusal) as refused:
        guarantees.receive_guarantee_request(
            waiting, Actor(kind="perception", id="RAB-01"), AT, affiliate_office="CAS-01"
        )
    assert refused.value.code == "perception-non-sollicitee"
    # The deposit came first (the acknowledgement was delayed): nothing to say.
    validated, _ = validate(draft(), quote())
    assert guarantees.receive_guarantee_request(validated, office, AT, affiliate_office="CAS-01") is None
    again = guarantees.reannounce_guarantee_request(waiting, AT, timedelta(minutes=60))
    assert (again.event, again.to_state, again.actor.id) == ("reannounced", "AWAITING_GUARANTEE", "sweep")
    assert "perception CAS-01 en 60 minutes" in again.reason
    with pytest.raises(Refusal):
        guarantees.reannounce_guarantee_request(validated, AT, timedelta(minutes=60))


def test_a_deposit_after_expiry_is_kept_and_an_operator_reopens_only_one_made_in_time() -> None:
    waiting, _ = validate(draft("INSTALLMENTS"), quote("INSTALLMENTS"))
    expired, _ = guarantees.expire(waiting, date(2026, 12, 29), AT + timedelta(days=31))
    office = Actor(kind="perception", id="CAS-01")
    in_time = Guarantee(reference="GAR-9", type="AUTRE", perception="CAS-01", deposited_at=AT + timedelta(days=30))
    kept, line = guarantees.deposit_after_expiry(
        expired, in_time, date(2026, 12, 28), PROGRAMME, office, today=date(2026, 12, 30), affiliate_office="CAS-01"
    )
    assert (kept.state, kept.guarantee, line.event) == ("EXPIRED", in_time, "late_guarantee_deposited")
    assert "le 2026-12-28" in line.reason and "un opérateur peut rouvrir" in line.reason
    with pytest.raises(Refusal) as again:  # one deposit kept; a second answer changes nothing
        guarantees.deposit_after_expiry(kept, in_time, date(2026, 12, 28), PROGRAMME, office, today=date(2026, 12, 30))
    assert again.value.code == "pas-en-attente-de-garanties"
    with pytest.raises(Refusal) as stranger:
        other = in_time.model_copy(update={"perception": "RAB-01"})
        guarantees.deposit_after_expiry(expired, other, date(2026, 12, 28), PROGRAMME, office, today=date(2026, 12, 30))
    assert stranger.value.code == "perception-non-sollicitee"

    ops = guarantees.operator("a.benali")
    reopened, entry = guarantees.reopen(kept, date(2026, 12, 28), PROGRAMME, CALENDAR, AT, ops, "reçu tard")
    assert (reopened.state, reopened.validation_date, entry.event, entry.actor) == (
        "VALIDATED",
        date(2026, 12, 28),
        "reopened",
        Actor(kind="system", id="operateur:a.benali"),
    )
    assert reopened.schedule[0].due_date == date(2027, 1, 10)  # V in December: the 10th of January
    with pytest.raises(Refusal) as late:  # the day after the deadline: stays expired
        guarantees.reopen(kept, date(2026, 12, 29), PROGRAMME, CALENDAR, AT, ops, "reçu tard")
    assert late.value.code == "depot-hors-delai"
    with pytest.raises(Refusal) as nothing:
        guarantees.reopen(expired, None, PROGRAMME, CALENDAR, AT, ops, "reçu tard")
    assert nothing.value.code == "aucun-depot-recu"


def test_a_deposit_after_the_deadline_is_refused() -> None:
    waiting, _ = validate(draft("INSTALLMENTS"), quote("INSTALLMENTS"))
    late = Guarantee(reference="GAR-1", type="AUTRE", perception="CAS-01", deposited_at=AT + timedelta(days=31))
    with pytest.raises(Refusal) as refused:
        guarantees.deposit_guarantee(waiting, late, date(2026, 12, 29), PROGRAMME, CALENDAR, ME, today=date(2027, 1, 5))
    assert refused.value.code == "garanties-hors-delai"


@pytest.mark.parametrize(
    ("changes", "check", "code"),
    [
        ({"affiliate": "1000002"}, FRESH, "devis-autre-affilie"),
        ({"programme": "AUTRE-2020"}, FRESH, "devis-autre-programme"),
        ({"expires_at": AT}, FRESH, "devis-expire"),
        ({"debt_version": 2}, FRESH, "devis-perime"),
        ({}, QuoteCheck(known_debt_version=3, newer_quote_exists=True), "devis-remplace"),
    ],
)
def test_a_quote_that_is_not_the_right_one_is_refused(changes: dict[str, Any], check: QuoteCheck, code: str) -> None:
    with pytest.raises(Refusal) as refused:
        validate(draft(), quote(**changes), check)
    assert refused.value.code == code
    assert refused.value.kind == "conflict"


def test_a_quote_newer_than_the_debt_requests_knows_is_accepted() -> None:
    validated, _ = validate(draft(), quote(debt_version=4))
    assert validated.state == "VALIDATED"


def test_a_quote_of_the_other_modality_is_refused() -> None:
    with pytest.raises(Refusal) as refused:
        validate(draft("FULL"), quote("INSTALLMENTS"))
    assert refused.value.code == "devis-autre-modalite"


def test_validation_needs_the_current_cg_modality_and_account() -> None:
    request, _ = lifecycle.open_request(uuid.uuid4(), "1000001", PROGRAMME, AT, ME)
    with pytest.raises(Refusal) as no_modality:
        validate(request, quote())
    assert no_modality.value.code == "modalite-requise"
    with pytest.raises(Refusal) as old_cg:
        lifecycle.validate(draft(), quote(), FRESH, "CG-2020", PROGRAMME, CALENDAR, at=AT, today=TODAY, actor=ME)
    assert (old_cg.value.code, old_cg.value.details) == (
        "cg-version-perimee",
        {"cg_version": PROGRAMME.conditions.version},
    )


def test_installments_require_the_guarantee_obligation() -> None:
    request, _ = lifecycle.open_request(uuid.uuid4(), "1000001", PROGRAMME, AT, ME)
    with pytest.raises(Refusal) as refused:
        lifecycle.choose_modality(request, "INSTALLMENTS", False, AT, ME)
    assert (refused.value.code, refused.value.kind) == ("obligation-garanties-requise", "invalid")


def test_only_a_draft_changes_and_only_draft_or_waiting_can_be_withdrawn() -> None:
    validated, _ = validate(draft(), quote())
    with pytest.raises(Refusal) as frozen:
        lifecycle.choose_bank_account(validated, "acc-1", {"acc-1"}, AT, ME)
    assert frozen.value.code == "demande-non-modifiable"
    with pytest.raises(Refusal) as not_withdrawable:
        lifecycle.withdraw(validated, AT, ME)
    assert not_withdrawable.value.code == "retrait-impossible"
    waiting, _ = validate(draft("INSTALLMENTS"), quote("INSTALLMENTS"))
    assert lifecycle.withdraw(waiting, AT, ME)[0].state == "CANCELLED"


def test_expiry_counts_the_deadline_day_and_idle_drafts_wait_24_hours() -> None:
    waiting, _ = validate(draft("INSTALLMENTS"), quote("INSTALLMENTS"))
    with pytest.raises(Refusal):
        guarantees.expire(waiting, date(2026, 12, 28), AT)
    expired, entry = guarantees.expire(waiting, date(2026, 12, 29), AT)
    assert (expired.state, entry.actor) == ("EXPIRED", lifecycle.SWEEP)
    idle = draft()  # last activity at AT
    with pytest.raises(Refusal):
        lifecycle.cancel_inactive(idle, PROGRAMME, AT + timedelta(hours=23, minutes=59))
    assert lifecycle.cancel_inactive(idle, PROGRAMME, AT + timedelta(hours=24))[0].state == "CANCELLED"


def facts(**changes: object) -> EligibilityFacts:
    base = {
        "request_in_progress": None,
        "arrangement": None,
        "remissible": Decimal("10.00"),
        "defaulted_before": False,
        "today": TODAY,
    }
    return EligibilityFacts(**(base | changes))  # type: ignore[arg-type]


def test_each_reason_to_refuse_a_new_request_has_its_code() -> None:
    assert refusals(PROGRAMME, facts()) == []
    cases = {
        "demande-en-cours": facts(request_in_progress="r-1"),
        "arrangement-actif": facts(arrangement=ArrangementFact("FES-01", "Perception Fès Saïs")),
        "rien-a-remettre": facts(remissible=Decimal("0.00")),
        "defaillance-anterieure": facts(defaulted_before=True),
        "programme-ferme": facts(today=date(2023, 11, 6)),
    }
    for code, situation in cases.items():
        assert [r.code for r in refusals(PROGRAMME, situation)] == [code]
    assert "Perception Fès Saïs" in refusals(PROGRAMME, cases["arrangement-actif"])[0].message
    assert "(jusqu'à 12/2024)" in refusals(PROGRAMME, cases["rien-a-remettre"])[0].message  # not 2024-12
    assert [r.code for r in refusals(PROGRAMME, facts(remissible=None))] == ["creance-inconnue"]


def test_a_closed_window_comes_from_the_programme_data() -> None:
    closed = PROGRAMME.model_copy(
        update={"window": PROGRAMME.window.model_copy(update={"closes_on": date(2025, 1, 15)})}
    )
    assert [r.code for r in refusals(closed, facts())] == ["programme-ferme"]


def line(amount: str) -> dict[str, str]:
    return {"due": amount, "paid": "0.00", "outstanding": amount}


def test_remissible_counts_penalties_of_eligible_periods_and_no_credit() -> None:
    periods = [
        PeriodPosition.model_validate(
            {
                "period": p,
                "principal": line("1000.00"),
                "majorations": line(m),
                "astreintes": line(a),
                "frais": line("0.00"),
            }
        )
        for p, m, a in [("2024-12", "30.00", "-50.00"), ("2025-01", "99.00", "0.00"), ("2023-01", "0.10", "20.00")]
    ]
    # majorations 30.00 + 0.10; astreintes -50.00 + 20.00 < 0 counts as 0; 2025-01 is after the cut-off
    assert remissible(periods, PROGRAMME) == Decimal("30.10")


def test_the_plan_at_debits_moves_the_request_to_in_progress_then_completed() -> None:
    validated, _ = validate(draft(), quote())
    paying, entry = lifecycle.first_debit_settled(validated, AT) or (validated, None)
    assert (paying.state, entry and entry.actor) == ("IN_PROGRESS", lifecycle.DEBITS)
    assert lifecycle.first_debit_settled(paying, AT) is None  # later payments change no state
    done, entry = lifecycle.complete(paying, AT)
    assert (done.state, entry.event) == ("COMPLETED", "completed")
    # a one-debit plan may complete before requests heard of the payment
    assert lifecycle.complete(validated, AT)[0].state == "COMPLETED"


def test_a_defaulted_plan_defaults_the_request_and_only_a_paying_one() -> None:
    validated, _ = validate(draft(), quote())
    defaulted, entry = lifecycle.default(validated, "prélèvement 2 rejeté (AC04)", AT)
    assert (defaulted.state, entry.reason) == ("DEFAULTED", "déchéance : prélèvement 2 rejeté (AC04)")
    with pytest.raises(Refusal) as refused:
        lifecycle.complete(defaulted, AT)
    assert refused.value.code == "pas-de-plan-en-cours"
    with pytest.raises(Refusal):
        lifecycle.first_debit_settled(draft(), AT)
