"""What a bank's answer to a debit order may say, and what a repeated answer means.

A bank deduplicates the orders it receives by their end-to-end id, as banks do for pain.008: a
second presentation of an id it has already booked is not collected again but answered ``AM05``
(duplicate collection). Such an answer is the bank protecting the debtor, not a failed debit:
it must neither fail nor re-present the debit.
"""

from datetime import date, timedelta
from typing import Literal

DUPLICATE_COLLECTION = "AM05"
RESULT_CLOCK_SKEW = timedelta(days=1)

Reading = Literal["apply", "repeat", "duplicate-notice", "conflict"]


def read_answer(recorded: str | None, outcome: Literal["EXECUTED", "REJECTED"], reason_code: str | None) -> Reading:
    """``recorded``: the outcome the order already has (None: none yet).

    - ``apply``: the order's first result;
    - ``repeat``: the same outcome again, or an AM05, for an order that has its result: harmless;
    - ``duplicate-notice``: an AM05 for an order without a result yet: the bank has booked this id
      before, so its first answer is on the way or was lost; the debit stays ordered;
    - ``conflict``: another outcome than the one recorded: a human must look (dead letter).
    """
    duplicate = outcome == "REJECTED" and reason_code == DUPLICATE_COLLECTION
    if recorded is None:
        return "duplicate-notice" if duplicate else "apply"
    if duplicate or recorded == outcome:
        return "repeat"
    return "conflict"


def result_date_refusal(result_on: date, collection_date: date, today: date) -> str | None:
    """Why a result's date cannot be true, or None. A bank executes or rejects on or after the
    requested collection date, and not later than today (or the collection date, for a run an
    operator made ahead of time) give or take a day of clock skew: a typo such as 9999-12-31 or a
    date before the order was due never moves money."""
    if result_on < collection_date:
        return f"résultat daté du {result_on.isoformat()}, avant l'échéance demandée du {collection_date.isoformat()}"
    latest = max(today, collection_date) + RESULT_CLOCK_SKEW
    if result_on > latest:
        return f"résultat daté du {result_on.isoformat()}, dans le futur (au plus tard {latest.isoformat()})"
    return None
