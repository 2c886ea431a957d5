"""debits' bank accounts without a database: declarations, consolidation, masking."""

import pytest

from services.debits.domain.accounts import InvalidAccount, RegisteredAccount, consolidate, default_account_id
from services.debits.service.accounts import FileRefused, parse_declarations

RIB_A = "007780000123456789123461"
RIB_B = "230110000000000000424292"


def registered_account(
    rib: str, id: str = "c1", affiliate: str = "1000001", bank_name: str = "Banque"
) -> RegisteredAccount:
    return RegisteredAccount(id, affiliate, rib, rib[:3], bank_name, "Atlas SARL")


def test_the_view_masks_all_but_the_last_four_digits_and_repr_hides_the_rib() -> None:
    account = registered_account(RIB_A)
    assert account.masked()["rib_masked"] == "********************3461"
    assert RIB_A not in repr(account) and RIB_A not in str(account.masked())


def test_consolidation_keeps_the_last_declaration_of_an_account_in_a_stable_order() -> None:
    result = consolidate(
        [
            registered_account(RIB_B, "b"),
            registered_account(RIB_A, "a", bank_name="old"),
            registered_account(RIB_A, "a", bank_name="new"),
        ]
    )
    assert [(c.id, c.bank_name) for c in result] == [("a", "new"), ("b", "Banque")]
    with pytest.raises(InvalidAccount, match="deux comptes"):
        consolidate([registered_account(RIB_A, "same"), registered_account(RIB_B, "same")])


def test_default_ids_are_stable() -> None:
    assert default_account_id("1000001", RIB_A) == default_account_id("1000001", RIB_A)
    assert default_account_id("1000001", RIB_A) != default_account_id("1000002", RIB_A)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[{", "pas un JSON valide"),
        (b"{}", "^une liste JSON"),
        (f'[{{"affiliate":"1000001","rib":"{RIB_A[:-2]}00","bank_name":"B","holder":"H"}}]'.encode(), "RIB invalide"),
        (f'[{{"affiliate":"1000001","rib":"{RIB_A}","bank_name":"B","holder":"H","x":0}}]'.encode(), r"\(x\) : champ"),
    ],
)
def test_a_bad_file_is_refused_in_one_line_without_the_rib(data: bytes, message: str) -> None:
    with pytest.raises(FileRefused, match=message) as refused:
        parse_declarations(data)
    assert "\n" not in str(refused.value) and RIB_A[:20] not in str(refused.value)
