"""The perception offices are data (``contracts/perceptions.csv``): checked at load, one topic each."""

import re
from pathlib import Path

import pytest

from contracts.perceptions import (
    PERCEPTIONS,
    UNKNOWN_CODE,
    PerceptionRegistryError,
    guarantees_topic,
    guarantees_topic_name,
    load_registry,
    parse_registry,
)
from contracts.topics import CATALOGUE, GUARANTEE_REQUESTS, RETIRED, all_topic_names, guarantee_requests
from partners.perception.config import PerceptionSettings
from services.stack.demo_data.model import PERCEPTIONS as DEMO_PERCEPTIONS
from services.stack.provisioning import topic_specs

ROOT = Path(__file__).resolve().parents[2]
HEADER = "code,name\n"

# Every office code the tests and the demo use as a real office (ZZZ and INCONNUE are no office).
USED_BY_TESTS = {"CAS-01", "CAS-02", "RAB-01", "RAB-02", "FES-01", "TNG-01"}


def test_the_shipped_registry_loads_and_holds_every_office_the_demo_and_tests_use() -> None:
    assert dict(PERCEPTIONS) == load_registry(ROOT / "contracts" / "perceptions.csv")
    assert set(DEMO_PERCEPTIONS) <= set(PERCEPTIONS)
    assert set(PERCEPTIONS) >= USED_BY_TESTS
    assert UNKNOWN_CODE not in PERCEPTIONS and "ZZZ" not in PERCEPTIONS
    for code, (perception, _) in DEMO_PERCEPTIONS.items():
        assert PERCEPTIONS[code] == perception.name  # the demo's affiliates name their office as the registry
    with pytest.raises(TypeError):
        PERCEPTIONS["ZZZ"] = "read-only"  # type: ignore[index]


def test_an_office_has_one_topic_and_an_unknown_code_none() -> None:
    assert guarantees_topic("CAS-01") == "requests.guarantees.CAS-01.v1"
    for code in PERCEPTIONS:
        assert re.fullmatch(r"[a-zA-Z0-9._-]{1,249}", guarantees_topic(code))  # a Kafka topic name
    for unknown in (UNKNOWN_CODE, "ZZZ", "cas-01", ""):
        with pytest.raises(ValueError, match="absente du registre des perceptions"):
            guarantees_topic(unknown)
    assert guarantees_topic_name("ZZZ") == "requests.guarantees.ZZZ.v1"  # the name it would have


def test_each_office_has_its_topic_in_the_catalogue_provisioned_with_its_dlq() -> None:
    assert [t.name for t in GUARANTEE_REQUESTS] == [guarantees_topic(code) for code in PERCEPTIONS]
    assert {t.name for t in GUARANTEE_REQUESTS} <= {t.name for t in CATALOGUE}
    assert guarantee_requests("CAS-01").consumers == ("perception CAS-01",)  # that office alone reads it
    assert all(t.producers == ("requests",) and t.key == "affiliate" for t in GUARANTEE_REQUESTS)
    provisioned = {spec.name for spec in topic_specs(None, 1, 1)}
    topics = {guarantees_topic(code) for code in PERCEPTIONS}
    assert topics | {name + ".dlq" for name in topics} <= provisioned
    assert provisioned == set(all_topic_names())
    # the single topic every office read is retired: neither in the catalogue nor provisioned
    assert "requests.guarantees.v1" in {t.name for t in RETIRED}
    assert not {"requests.guarantees.v1", "requests.guarantees.v1.dlq"} & provisioned
    with pytest.raises(ValueError, match="absente du registre"):
        guarantee_requests("ZZZ")


def test_the_reference_perception_plays_every_office_or_those_named() -> None:
    assert PerceptionSettings().offices() == list(PERCEPTIONS)
    settings = PerceptionSettings(PERCEPTION_OFFICES=" RAB-02, CAS-01,RAB-02 ")
    assert settings.offices() == ["RAB-02", "CAS-01"]
    assert settings.group_id("CAS-01") == "perception-CAS-01"
    with pytest.raises(ValueError, match="perception inconnue : ZZZ"):
        PerceptionSettings(PERCEPTION_OFFICES="CAS-01,ZZZ")


def test_comments_blank_lines_and_quoted_names_are_read() -> None:
    text = '# offices\n\ncode,name\nCAS-01,Perception Casablanca Anfa\n"FES-SAIS","Perception Fès, Saïs"\n'
    assert parse_registry(text) == {"CAS-01": "Perception Casablanca Anfa", "FES-SAIS": "Perception Fès, Saïs"}


def test_a_registry_file_naming_inconnue_is_refused_at_load_too(tmp_path: Path) -> None:
    # load_registry, which builds PERCEPTIONS, once parsed without the reserved-code check.
    file = tmp_path / "perceptions.csv"
    file.write_text(HEADER + "CAS-01,Perception Casablanca Anfa\nINCONNUE,Personne\n", encoding="utf-8")
    with pytest.raises(PerceptionRegistryError, match="ligne 3 : le code INCONNUE est réservé"):
        load_registry(file)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "fichier vide"),
        ("# only a comment\n", "fichier vide"),
        (HEADER, "aucune perception"),
        ("CAS-01,Anfa\n", "ligne 1 : en-tête « code,name » attendu"),
        (HEADER + "CAS-01,Anfa\nRAB-02,Agdal\nCAS-01,Autre\n", "ligne 4 : code perception CAS-01 déjà donné ligne 2"),
        (HEADER + "cas-01,Anfa\n", "ligne 2 : code perception « cas-01 » invalide"),
        (HEADER + "CAS 01,Anfa\n", "« CAS 01 » invalide"),
        (HEADER + "CAS--01,Anfa\n", "« CAS--01 » invalide"),
        (HEADER + "-CAS,Anfa\n", "« -CAS » invalide"),
        (HEADER + "CAS-,Anfa\n", "« CAS- » invalide"),
        (HEADER + "CAS.01,Anfa\n", "« CAS.01 » invalide"),
        (HEADER + "ABCDEFGHIJKLMNOPQ,Trop long\n", "16 caractères au plus"),
        (HEADER + "CAS-٠١,Anfa\n", "invalide (majuscules et chiffres"),  # Arabic-Indic digits
        (HEADER + "CAS-01,\n", "ligne 2 : nom de la perception CAS-01 invalide"),
        (HEADER + "CAS-01, Anfa\n", "nom de la perception CAS-01 invalide"),
        (HEADER + "CAS-01," + "P" * 129 + "\n", "1 à 128 caractères"),
        (HEADER + "CAS-01\n", "ligne 2 : deux colonnes attendues"),
        (HEADER + "CAS-01,Anfa,extra\n", "deux colonnes attendues (code,name), 3 trouvées"),
        (HEADER + "INCONNUE,Personne\n", "le code INCONNUE est réservé"),
    ],
)
def test_a_bad_registry_is_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(PerceptionRegistryError, match=re.escape(message)) as refused:
        parse_registry(text, "perceptions.csv")
    assert str(refused.value).startswith("perceptions.csv") and "\n" not in str(refused.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "perceptions.csv"
    file.write_bytes(HEADER.encode() + "FES-01,Perception Fès Saïs\n".encode("latin-1"))
    with pytest.raises(PerceptionRegistryError, match="pas en UTF-8"):
        load_registry(file)
    file.write_text(HEADER + "FES-01,Perception Fès Saïs\n", encoding="utf-8")
    assert load_registry(file) == {"FES-01": "Perception Fès Saïs"}
