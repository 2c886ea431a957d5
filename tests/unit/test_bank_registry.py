"""The bank registry is data (``contracts/banks.csv``): checked at load, the same banks everywhere."""

import re
from pathlib import Path

import pytest

from contracts.banks import BANKS, BankRegistryError, load_registry, orders_topic, parse_registry
from contracts.topics import BANK_ORDERS, CATALOGUE, all_topic_names
from partners.bank.config import BankSettings
from services.stack.demo_data import DEMO_BANKS
from services.stack.provisioning import topic_specs

ROOT = Path(__file__).resolve().parents[2]
HEADER = "code,name\n"


def test_the_shipped_registry_loads_and_is_the_one_every_part_reads() -> None:
    assert dict(BANKS) == load_registry(ROOT / "contracts" / "banks.csv")
    assert {"007", "011", "145", "230"} <= set(BANKS) and "050" not in BANKS
    assert all(len(code) == 3 and code.isdigit() for code in BANKS)
    with pytest.raises(TypeError):
        BANKS["050"] = "read-only"  # type: ignore[index]
    # one order topic per bank: in the catalogue, provisioned with its .dlq, played by the reference bank
    assert [t.name for t in BANK_ORDERS] == [orders_topic(code) for code in BANKS]
    assert {t.name for t in BANK_ORDERS} <= {t.name for t in CATALOGUE}
    provisioned = {spec.name for spec in topic_specs(None, 1, 1)}
    assert {orders_topic(c) for c in BANKS} | {orders_topic(c) + ".dlq" for c in BANKS} <= provisioned
    assert provisioned == set(all_topic_names())
    assert BankSettings().codes() == list(BANKS)
    assert {code for code, _ in DEMO_BANKS} <= set(BANKS)  # the demo's accounts are all of registered banks


def test_comments_blank_lines_and_quoted_names_are_read() -> None:
    text = '# a comment\n\ncode,name\n007,Attijariwafa bank\n"011","BMCE, Bank of Africa"\n\n# end\n'
    assert parse_registry(text) == {"007": "Attijariwafa bank", "011": "BMCE, Bank of Africa"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "fichier vide"),
        ("# only a comment\n", "fichier vide"),
        (HEADER, "aucune banque"),
        ("007,Attijariwafa bank\n", "ligne 1 : en-tête « code,name » attendu"),
        ("code,nom\n007,Attijariwafa bank\n", "ligne 1 : en-tête"),
        (HEADER + "007,Attijariwafa bank\n011,BMCE\n007,Autre\n", "ligne 4 : code banque 007 déjà donné ligne 2"),
        (HEADER + "50,Banque\n", "ligne 2 : code banque « 50 » invalide"),
        (HEADER + "0500,Banque\n", "« 0500 » invalide"),
        (HEADER + "O07,Banque\n", "« O07 » invalide"),
        (HEADER + " 007,Banque\n", "«  007 » invalide"),
        (HEADER + "٠٠٧,Banque\n", "invalide (3 chiffres attendus)"),  # Arabic-Indic digits
        (HEADER + "007,\n", "ligne 2 : nom de la banque 007 invalide"),
        (HEADER + "007, Attijariwafa\n", "nom de la banque 007 invalide"),
        (HEADER + "007,Banque\tdu Nord\n", "nom de la banque 007 invalide"),
        (HEADER + "007," + "B" * 101 + "\n", "nom de la banque 007 invalide"),
        (HEADER + "007\n", "ligne 2 : deux colonnes attendues"),
        (HEADER + "007,Banque,extra\n", "deux colonnes attendues (code,name), 3 trouvées"),
        (HEADER + '007,"Banque\n', "CSV illisible"),
    ],
)
def test_a_bad_registry_is_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(BankRegistryError, match=re.escape(message)) as refused:
        parse_registry(text, "banks.csv")
    assert str(refused.value).startswith("banks.csv") and "\n" not in str(refused.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "banks.csv"
    file.write_bytes(HEADER.encode() + "021,Crédit du Maroc\n".encode("latin-1"))
    with pytest.raises(BankRegistryError, match="pas en UTF-8"):
        load_registry(file)
    file.write_text(HEADER + "021,Crédit du Maroc\n", encoding="utf-8")
    assert load_registry(file) == {"021": "Crédit du Maroc"}
