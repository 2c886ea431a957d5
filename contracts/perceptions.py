"""The perception offices requests asks for guarantees: one topic each
(``requests.guarantees.<code>.v1``), so each office reads only its own affiliates' guarantee requests
(Kafka ACLs in production), as each bank reads only its own orders (``contracts/banks.py``).

The registry is data, ``contracts/perceptions.csv`` (``code,name``, one office a line), read once at
import and checked (``contracts/registry.py``). The code is the one auth announces for an affiliate
(``auth.affiliates.v1``, ``perception.code``): capitals and digits in groups joined by hyphens
(``CAS-01``), 16 characters at most, which makes a valid Kafka topic name. Adding an office is a line
there plus its topic (``recouvrement topics provision``) and its ACLs (``docs/kafka-acls.md``).

An affiliate whose office is not in the registry (or not announced yet: ``INCONNUE``) has no topic
to be asked on: requests refuses to validate its installment plan (``perception-inconnue``) rather
than write a guarantee request nobody would read.
"""

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from contracts import registry

REGISTRY_FILE = "perceptions.csv"
"""The registry, shipped inside the ``contracts`` package."""
MAX_CODE_LENGTH = 16
"""As ``contracts.debt.Perception.code``."""
MAX_NAME_LENGTH = 128
"""As ``contracts.debt.Perception.name``."""


class PerceptionRegistryError(ValueError):
    """The registry file is unusable; the message names the file and the line."""


UNKNOWN_CODE = "INCONNUE"
"""What requests names an affiliate's office before auth announced it: never an office of the registry."""

RULES = registry.RegistryRules(
    file=REGISTRY_FILE,
    code=re.compile(rf"(?=.{{1,{MAX_CODE_LENGTH}}}$)[A-Z0-9]+(-[A-Z0-9]+)*"),
    code_hint=f"majuscules et chiffres, groupes reliés par des tirets, {MAX_CODE_LENGTH} caractères au plus",
    code_label="code perception",
    name_label="nom de la perception",
    nothing="aucune perception",
    max_name_length=MAX_NAME_LENGTH,
    error=PerceptionRegistryError,
    reserved=(UNKNOWN_CODE,),
)


def parse_registry(text: str, source: str = REGISTRY_FILE) -> dict[str, str]:
    """``code -> name`` in file order (``contracts.registry.parse``); ``INCONNUE`` is no office."""
    return registry.parse(RULES, text, source)


def load_registry(path: Path | None = None) -> dict[str, str]:
    """The shipped registry, or the file at ``path`` (tests, a registry under review)."""
    return registry.load(RULES, path)


PERCEPTIONS: Mapping[str, str] = MappingProxyType(load_registry())
"""Office codes requests may ask for guarantees (read-only)."""


def guarantees_topic(office_code: str) -> str:
    """The topic of one office's guarantee requests. Only for a code of the registry: another has no
    topic (a ``ValueError`` says so)."""
    if office_code not in PERCEPTIONS:
        raise ValueError(f"perception {office_code!r} absente du registre des perceptions ({REGISTRY_FILE})")
    return guarantees_topic_name(office_code)


def guarantees_topic_name(office_code: str) -> str:
    """The name the office's topic has or would have, registered or not (the outbox migration and the
    relay's parking speak of unregistered ones)."""
    return f"requests.guarantees.{office_code}.v1"
