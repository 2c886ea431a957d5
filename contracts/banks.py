"""The banks debits sends orders to: one topic each (``debits.orders.<code>.v1``), so each bank reads
only its own customers' orders (Kafka ACLs in production). The code is the RIB's digits 1 to 3."""

BANKS: dict[str, str] = {
    "007": "Attijariwafa bank",
    "011": "BMCE Bank of Africa",
    "013": "BMCI",
    "021": "Crédit du Maroc",
    "022": "Société Générale Maroc",
    "145": "Banque Populaire",
    "190": "Banque Populaire",
    "225": "Crédit Agricole du Maroc",
    "230": "CIH Bank",
}
"""Bank codes CNSS debits from; an account of another bank cannot be registered for debits."""


def orders_topic(bank_code: str) -> str:
    return f"debits.orders.{bank_code}.v1"
