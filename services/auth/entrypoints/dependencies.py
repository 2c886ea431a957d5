"""What auth's HTTP handlers need, built once by the bootstrap (``main.py``)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.auth.service.login import LoginDependencies
from services.runtime.http import dependencies_of
from services.runtime.platform import Platform


@dataclass(frozen=True, slots=True)
class AuthDependencies:
    platform: Platform
    login: LoginDependencies
    """passwords, token issuer, clock, lockout policy and the login gate (shared with LoginDoor)"""


Dependencies = Annotated[AuthDependencies, Depends(dependencies_of(AuthDependencies))]
