"""The orders of one debit run for one bank, read back from debits' database as pain.008 needs them.

Reads the tables of ``services/debits/migrations/002_debit_plans.sql`` (``debit_order`` joined with
``plan`` and ``affiliate_profile``) and rebuilds each order's payload the way the debit run built the
message it sent (``service/run.py``): same end-to-end id, amount, dates, mandate, RIB, remittance.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import asyncpg

from contracts.debits import Creditor, DebitOrderPayload
from services.debits.domain.debits import remittance_information

MAX_NAME = 140  # as the debit run (service/run.py): pain.008 Dbtr/Nm is Max140Text

RUN_ORDERS = """
SELECT o.end_to_end_id, o.request_id, o.sequence, o.attempt, o.amount, o.requested_collection_date,
       p.affiliate, p.installments_total, p.rib, p.holder, p.mandate_id, p.mandate_signed_on,
       a.raison_sociale
  FROM debit_order o
  JOIN plan p ON p.request_id = o.request_id
  LEFT JOIN affiliate_profile a ON a.affiliate = p.affiliate
 WHERE o.run_date = $1 AND o.bank_code = $2
 ORDER BY o.requested_collection_date, o.end_to_end_id
"""


def payload_of(row: Mapping[str, Any], creditor: Creditor) -> DebitOrderPayload:
    debtor = str(row["raison_sociale"] or row["holder"])[:MAX_NAME]
    return DebitOrderPayload.model_validate(
        {
            "end_to_end_id": row["end_to_end_id"],
            "request_id": row["request_id"],
            "affiliate": row["affiliate"],
            "sequence": row["sequence"],
            "installments_total": row["installments_total"],
            "attempt": row["attempt"],
            "instructed_amount": row["amount"],
            "currency": "MAD",
            "requested_collection_date": row["requested_collection_date"],
            "creditor": creditor,
            "debtor_name": debtor,
            "debtor_account": row["rib"],
            "mandate_id": row["mandate_id"],
            "mandate_signed_on": row["mandate_signed_on"],
            "remittance_information": remittance_information(
                row["request_id"], row["sequence"], row["installments_total"]
            ),
        }
    )


async def run_orders(
    conn: asyncpg.Connection, bank: str, run_date: date, creditor: Creditor
) -> Sequence[DebitOrderPayload]:
    rows = await conn.fetch(RUN_ORDERS, run_date, bank)
    return [payload_of(row, creditor) for row in rows]
