"""The banks debits sends orders to: one topic each (``debits.orders.<code>.v1``), so each bank reads
only its own customers' orders (Kafka ACLs in production). The code is the RIB's digits 1 to 3.

The registry is data, ``contracts/banks.csv`` (``code,name``, one bank a line), read once at import
and checked (``contracts/registry.py``): a file that is not a clean registry stops every process that
imports it, with the line at fault, rather than letting one of them run with fewer banks than the
others. Adding a bank is a
line there plus its topic (``recouvrement topics provision``, which reads the catalogue built from
this registry) and its ACLs (``docs/kafka-acls.md``).
"""

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from contracts import registry

REGISTRY_FILE = "banks.csv"
"""The registry, shipped inside the ``contracts`` package."""
HEADER = registry.HEADER
MAX_NAME_LENGTH = 100


class BankRegistryError(ValueError):
    """The registry file is unusable; the message names the file and the line."""


RULES = registry.RegistryRules(
    file=REGISTRY_FILE,
    code=re.compile(r"[0-9]{3}"),
    code_hint="3 chiffres attendus",
    code_label="code banque",
    name_label="nom de la banque",
    nothing="aucune banque",
    max_name_length=MAX_NAME_LENGTH,
    error=BankRegistryError,
)


def parse_registry(text: str, source: str = REGISTRY_FILE) -> dict[str, str]:
    """``code -> name`` in file order (``contracts.registry.parse``): a 3-digit code (ASCII digits)
    found on no other line, and a non-empty name without surrounding spaces."""
    return registry.parse(RULES, text, source)


def load_registry(path: Path | None = None) -> dict[str, str]:
    """The shipped registry, or the file at ``path`` (tests, a registry under review)."""
    return registry.load(RULES, path)


BANKS: Mapping[str, str] = MappingProxyType(load_registry())
"""Bank codes CNSS debits from (read-only); an account of another bank cannot be registered for debits."""


def orders_topic(bank_code: str) -> str:
    return f"debits.orders.{bank_code}.v1"
