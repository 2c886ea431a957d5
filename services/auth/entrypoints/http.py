"""auth over HTTP: open a session, list the caller's affiliates."""

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.auth.adapters.repository import AccountRepository
from services.auth.domain.accounts import Affiliate, normalize_login
from services.auth.entrypoints.dependencies import Dependencies
from services.auth.service import sessions
from services.auth.service.login import login
from services.auth.service.sessions import Issued
from services.runtime.direct import DirectRoute
from services.runtime.http import CallerAddress, Connection, CurrentPrincipal

router = APIRouter(prefix="/v1", tags=["authentification"], route_class=DirectRoute)
"""Routes without a body or a query of their own (the account's affiliates, the logout) are served
without FastAPI's per-call solving of their dependencies when the call allows (``runtime/direct.py``);
the others (a login, a refresh: a body) by FastAPI."""
NO_STORE = "no-store"
"""on every answer carrying tokens (RFC 6749 5.1): no cache keeps them, nor the idempotency table"""


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)

    @field_validator("login", "password")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        # Postgres refuses NUL in text (a 500 otherwise); no one types a control character.
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("caractère de contrôle interdit")
        return value

    @field_validator("login")
    @classmethod
    def _fits_once_normalized(cls, login: str) -> str:
        # Lower-casing can lengthen a string ('İ' becomes two characters).
        if len(normalize_login(login)) > 128:
            raise ValueError("identifiant trop long")
        return login


class PerceptionOut(BaseModel):
    code: str
    name: str


class AffiliateOut(BaseModel):
    numero: str
    raison_sociale: str
    ice: str
    perception: PerceptionOut

    @classmethod
    def of(cls, affiliate: Affiliate) -> "AffiliateOut":
        return cls(
            numero=affiliate.numero,
            raison_sociale=affiliate.raison_sociale,
            ice=affiliate.ice,
            perception=PerceptionOut(code=affiliate.perception_code, name=affiliate.perception_name),
        )


class SessionOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int
    expires_at: datetime
    login: str
    display_name: str
    affiliates: list[AffiliateOut]
    refresh_token: str = Field(
        description="à échanger une fois contre un nouveau jeton d'accès (POST /v1/sessions/refresh) ; un secret"
    )
    refresh_expires_at: datetime

    @classmethod
    def of(cls, issued: Issued, now: datetime) -> "SessionOut":
        return cls(
            access_token=issued.access_token,
            expires_in=int((issued.expires_at - now).total_seconds()),
            expires_at=issued.expires_at,
            login=issued.account.login,
            display_name=issued.account.display_name,
            affiliates=[AffiliateOut.of(a) for a in issued.affiliates],
            refresh_token=issued.refresh_token,
            refresh_expires_at=issued.refresh_expires_at,
        )


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")


class AffiliatesOut(BaseModel):
    affiliates: list[AffiliateOut]


@router.post(
    "/sessions",
    status_code=201,
    summary="Ouvrir une session avec un compte Damancom",
    responses={
        401: {"description": "Identifiants incorrects"},
        423: {"description": "Compte verrouillé pour cette adresse"},
        429: {"description": "Trop de tentatives depuis cette adresse ou sur cet identifiant (Retry-After)"},
    },
)
async def open_session(
    credentials: Credentials, address: CallerAddress, deps: Dependencies, response: Response
) -> SessionOut:
    platform = deps.platform
    assert platform.pool is not None
    # Refused (401 identifiants-invalides, 423 compte-verrouille, 429 trop-de-tentatives): the
    # runtime's one refusal handler answers, with Retry-After when the refusal says how long to wait.
    session = await login(platform.pool, deps.login, credentials.login, credentials.password, address)
    response.headers["Cache-Control"] = NO_STORE
    return SessionOut.of(session, deps.login.clock.now())


@router.post(
    "/sessions/refresh",
    summary="Un nouveau jeton d'accès contre le jeton de rafraîchissement (qui ne sert qu'une fois)",
    responses={401: {"description": "Session expirée, fermée ou révoquée (`session-invalide`)"}},
)
async def refresh_session(body: RefreshIn, deps: Dependencies, response: Response) -> SessionOut:
    assert deps.platform.pool is not None
    issued = await sessions.refresh(deps.platform.pool, deps.login.sessions, body.refresh_token)
    response.headers["Cache-Control"] = NO_STORE
    return SessionOut.of(issued, deps.login.clock.now())


@router.delete(
    "/sessions/current",
    status_code=204,
    summary="Fermer la session : ses jetons de rafraîchissement ne servent plus",
)
async def close_session(principal: CurrentPrincipal, conn: Connection, deps: Dependencies) -> Response:
    await sessions.revoke(conn, principal.session_id, deps.login.clock.now())
    return Response(status_code=204)


@router.get("/me/affiliates", summary="Les affiliés du compte connecté")
async def my_affiliates(principal: CurrentPrincipal, conn: Connection) -> AffiliatesOut:
    affiliates = await AccountRepository(conn).affiliates_of(principal.account_id)
    return AffiliatesOut(affiliates=[AffiliateOut.of(a) for a in affiliates])
