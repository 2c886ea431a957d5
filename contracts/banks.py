"""The banks debits sends orders to: one topic each (``debits.orders.<code>.v1``), so each bank reads
only its own customers' orders (Kafka ACLs in production). The code is the RIB's digits 1 to 3.

The registry is data, ``contracts/banks.csv`` (``code,name``, one bank a line), read once at import
and checked: a file that is not a clean registry stops every process that imports it, with the line
at fault, rather than letting one of them run with fewer banks than the others. Adding a bank is a
line there plus its topic (``recouvrement topics provision``, which reads the catalogue built from
this registry) and its ACLs (``docs/kafka-acls.md``).
"""

import csv
import io
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType

REGISTRY_FILE = "banks.csv"
"""The registry, shipped inside the ``contracts`` package."""
HEADER = ("code", "name")
MAX_NAME_LENGTH = 100
_CODE = re.compile(r"[0-9]{3}")


class BankRegistryError(ValueError):
    """The registry file is unusable; the message names the file and the line."""


def parse_registry(text: str, source: str = REGISTRY_FILE) -> dict[str, str]:
    """``code -> name`` in file order. Blank lines and lines starting with ``#`` are ignored; the first
    other line is the header ``code,name``; then one bank a line: a 3-digit code (ASCII digits) found
    on no other line, and a non-empty name without surrounding spaces."""
    banks: dict[str, str] = {}
    first_line: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text), strict=True)
    header_seen = False
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()) or row[0].lstrip().startswith("#"):
                continue
            where = f"{source}, ligne {line}"
            if not header_seen:
                if tuple(cell.strip() for cell in row) != HEADER:
                    raise BankRegistryError(f"{where} : en-tête « code,name » attendu, trouvé « {','.join(row)} »")
                header_seen = True
                continue
            if len(row) != len(HEADER):
                raise BankRegistryError(f"{where} : deux colonnes attendues (code,name), {len(row)} trouvées")
            code, name = row
            if not _CODE.fullmatch(code):
                raise BankRegistryError(f"{where} : code banque « {code} » invalide (3 chiffres attendus)")
            if code in banks:
                raise BankRegistryError(f"{where} : code banque {code} déjà donné ligne {first_line[code]}")
            if not name or name != name.strip() or not name.isprintable() or len(name) > MAX_NAME_LENGTH:
                raise BankRegistryError(
                    f"{where} : nom de la banque {code} invalide (1 à {MAX_NAME_LENGTH} caractères imprimables, "
                    "sans espace autour)"
                )
            banks[code] = name
            first_line[code] = line
    except csv.Error as exc:
        raise BankRegistryError(f"{source}, ligne {reader.line_num} : CSV illisible ({exc})") from None
    if not header_seen:
        raise BankRegistryError(f"{source} : fichier vide (en-tête « code,name » attendu)")
    if not banks:
        raise BankRegistryError(f"{source} : aucune banque")
    return banks


def load_registry(path: Path | None = None) -> dict[str, str]:
    """The shipped registry, or the file at ``path`` (tests, a registry under review)."""
    if path is None:
        text = resources.files("contracts").joinpath(REGISTRY_FILE).read_text(encoding="utf-8")
        return parse_registry(text)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BankRegistryError(f"{path} : le fichier n'est pas en UTF-8") from None
    return parse_registry(text, str(path))


BANKS: Mapping[str, str] = MappingProxyType(load_registry())
"""Bank codes CNSS debits from (read-only); an account of another bank cannot be registered for debits."""


def orders_topic(bank_code: str) -> str:
    return f"debits.orders.{bank_code}.v1"
