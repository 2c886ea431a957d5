"""What a request's pages accept from their address before showing it."""

from services.portal.pages.demande.draft import quote_of

REQUEST = {"id": "r", "state": "DRAFT", "affiliate": "1000002", "modality": "FULL"}


def test_a_quote_is_shown_beside_a_request_of_its_own_affiliate_and_modality() -> None:
    mine = {"quote_id": "q", "affiliate": "1000002", "modality": "FULL", "to_pay": "100.00"}
    assert quote_of(REQUEST, mine) == mine


def test_another_affiliates_quote_or_the_other_modalitys_is_not() -> None:
    # a group account reads the quotes of each of its affiliates: the id in ?devis= may be any of them
    assert quote_of(REQUEST, {"affiliate": "1000003", "modality": "FULL"}) is None
    assert quote_of(REQUEST, {"affiliate": "1000002", "modality": "INSTALLMENTS"}) is None
    assert quote_of(REQUEST | {"modality": None}, {"affiliate": "1000002", "modality": "FULL"}) is None
