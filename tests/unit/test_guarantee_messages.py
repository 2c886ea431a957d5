"""What an office hears of its affiliates' guarantees once the plan ends, and on which topic (issue 16)."""

from datetime import date, timedelta

from contracts.requests import Actor, Guarantee, GuaranteeEnforced, GuaranteeReleased
from contracts.topics import guarantee_requests
from services.requests.domain import guarantees
from services.requests.domain import request as lifecycle
from services.requests.service.events import _guarantee_settled, _to_office
from tests.unit.test_requests_domain import AT, CALENDAR, CAS_01, PROGRAMME, draft, quote, validate


def _paying() -> lifecycle.RemissionRequest:
    waiting, _ = validate(draft("INSTALLMENTS"), quote("INSTALLMENTS"))
    guarantee = Guarantee(reference="GAR-7", type="NANTISSEMENT", perception="CAS-01", deposited_at=AT)
    office = Actor(kind="perception", id="CAS-01")
    on = date(2026, 11, 28)
    validated, _ = guarantees.deposit_guarantee(waiting, guarantee, on, PROGRAMME, CALENDAR, office, today=on)
    return validated


def test_completed_releases_and_defaulted_enforces_the_plans_remise_on_the_office_topic() -> None:
    paying = _paying()
    assert paying.quote is not None
    completed = lifecycle.complete(paying, AT + timedelta(days=90))
    released = _guarantee_settled(*completed, CAS_01, AT)
    assert isinstance(released, GuaranteeReleased)
    assert (released.payload.perception, released.payload.guarantee.reference) == (CAS_01, "GAR-7")
    assert released.payload.at == completed[1].at and "définitive" in released.payload.reason
    assert _to_office(paying, released).topic == guarantee_requests("CAS-01").name

    defaulted = lifecycle.default(paying, "AM04 : provision insuffisante", AT + timedelta(days=60))
    enforced = _guarantee_settled(*defaulted, CAS_01, AT)
    assert isinstance(enforced, GuaranteeEnforced)
    assert enforced.payload.reinstated == paying.quote.remise  # every category, and the total
    assert enforced.payload.reinstated.total > 0
    assert enforced.payload.reason == "déchéance : AM04 : provision insuffisante"
    assert _to_office(paying, enforced).topic == "requests.guarantees.CAS-01.v1"
    # the wire shape is the topic's
    topic = guarantee_requests("CAS-01")
    assert topic.adapter().validate_json(enforced.model_dump_json()) == enforced
