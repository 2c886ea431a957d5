"""A registry as data: ``code,name`` lines in a CSV file shipped inside ``contracts``, checked at load.

The banks (``contracts/banks.csv``) and the perception offices (``contracts/perceptions.csv``) are
read this way: each has one topic per code, so a file that is not a clean registry must stop every
process that imports it, naming the line at fault, rather than let one of them run with fewer topics
than the others.
"""

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

HEADER = ("code", "name")


@dataclass(frozen=True)
class RegistryRules:
    """What one registry accepts and how its errors are worded (French: operators read them)."""

    file: str
    code: re.Pattern[str]
    code_hint: str
    """What a code must look like, as the error says it: ``3 chiffres attendus``."""
    code_label: str
    """``code banque``: the error's words before the code."""
    name_label: str
    """``nom de la banque``: the error's words before the code whose name is wrong."""
    nothing: str
    """``aucune banque``: the error when the header has no line after it."""
    max_name_length: int
    error: type[ValueError]
    reserved: tuple[str, ...] = ()
    """Codes that must never name an entry (``INCONNUE`` for the perceptions)."""


def parse(rules: RegistryRules, text: str, source: str | None = None) -> dict[str, str]:
    """``code -> name`` in file order. Blank lines and lines starting with ``#`` are ignored; the first
    other line is the header ``code,name``; then one entry a line: a code of the registry's form found
    on no other line, and a non-empty printable name without surrounding spaces."""
    source = source or rules.file
    error = rules.error
    entries: dict[str, str] = {}
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
                    raise error(f"{where} : en-tête « code,name » attendu, trouvé « {','.join(row)} »")
                header_seen = True
                continue
            if len(row) != len(HEADER):
                raise error(f"{where} : deux colonnes attendues (code,name), {len(row)} trouvées")
            code, name = row
            if not rules.code.fullmatch(code):
                raise error(f"{where} : {rules.code_label} « {code} » invalide ({rules.code_hint})")
            if code in rules.reserved:
                raise error(f"{where} : le code {code} est réservé")
            if code in entries:
                raise error(f"{where} : {rules.code_label} {code} déjà donné ligne {first_line[code]}")
            if not name or name != name.strip() or not name.isprintable() or len(name) > rules.max_name_length:
                raise error(
                    f"{where} : {rules.name_label} {code} invalide (1 à {rules.max_name_length} caractères "
                    "imprimables, sans espace autour)"
                )
            entries[code] = name
            first_line[code] = line
    except csv.Error as exc:
        raise error(f"{source}, ligne {reader.line_num} : CSV illisible ({exc})") from None
    if not header_seen:
        raise error(f"{source} : fichier vide (en-tête « code,name » attendu)")
    if not entries:
        raise error(f"{source} : {rules.nothing}")
    return entries


def load(rules: RegistryRules, path: Path | None = None) -> dict[str, str]:
    """The shipped registry, or the file at ``path`` (tests, a registry under review)."""
    if path is None:
        return parse(rules, resources.files("contracts").joinpath(rules.file).read_text(encoding="utf-8"))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise rules.error(f"{path} : le fichier n'est pas en UTF-8") from None
    return parse(rules, text, str(path))
