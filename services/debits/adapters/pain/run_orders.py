"""The orders of one debit run for one bank, read back from debits' database as pain.008 needs them.

The query (``adapters/sql/run_orders.sql``) joins ``debit_order`` with ``plan`` and
``affiliate_profile``; each order's payload is rebuilt the way the debit run built the message it
sent (``service/debit_run.py``): same end-to-end id, amount, dates, mandate, RIB, remittance.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from contracts.debits import Creditor, DebitOrderPayload
from services.debits.domain.debits import remittance_information
from services.runtime.db import load_queries, rows

_Q = load_queries(Path(__file__).parent.parent / "sql")

MAX_NAME = 140  # as the debit run (service/debit_run.py): pain.008 Dbtr/Nm is Max140Text


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
    found = await rows(_Q.run_orders(conn, run_date=run_date, bank_code=bank))
    return [payload_of(row, creditor) for row in found]
