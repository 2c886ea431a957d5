"""What debits' HTTP handlers need, built once by the bootstrap (``main.py``)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.debits.service.context import DebitsContext
from services.runtime.http import dependencies_of
from services.runtime.platform import Platform


@dataclass(frozen=True, slots=True)
class DebitsDependencies:
    platform: Platform
    context: DebitsContext
    """the programme, calendar, clock and creditor the use cases apply"""


Dependencies = Annotated[DebitsDependencies, Depends(dependencies_of(DebitsDependencies))]
