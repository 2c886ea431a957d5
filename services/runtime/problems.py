"""HTTP errors as RFC 9457 ``application/problem+json``: a stable ``code`` for programs, a ``title``
(and ``detail``) for people in the caller's language (``Accept-Language``: French by default, Arabic
from ``contracts.refusal_texts``), the figures as fields of their own, never a stack trace."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from contracts.refusal_texts import Language, field_message, language_of, sentence
from contracts.refusals import Refusal
from services.runtime.db import PoolExhausted

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extra = extra

    def response(self, instance: str | None = None, language: Language = "fr") -> JSONResponse:
        body: dict[str, Any] = {
            "type": f"https://recouvrement.cnss.ma/problemes/{self.code}",
            "status": self.status,
            "code": self.code,
            # the catalogue's sentence when it has one for the language (figures the Moroccan way), else ours
            "title": sentence(language, self.code, self.title, self.extra),
        }
        detail = self.detail
        errors = self.extra.get("errors")
        if language != "fr" and isinstance(errors, list):  # a requete-invalide: each field said again
            errors = [e | {"message": field_message(language, e["code"], e["message"])} for e in errors]
            detail = "؛ ".join(f"{e['field']} : {e['message']}" for e in errors)
        elif language != "fr":
            detail = None  # the French detail is the French title's complement: the Arabic title says it all
        if detail:
            body["detail"] = detail
        if instance:
            body["instance"] = instance
        body |= self.extra | ({"errors": errors} if errors is not None else {})
        headers = dict(self.headers or {}) | {"Content-Language": language, "Vary": "Accept-Language"}
        return JSONResponse(body, status_code=self.status, headers=headers, media_type=PROBLEM_JSON)

    def answer(self, request: Request) -> JSONResponse:
        """The response to ``request``, in its caller's language."""
        return self.response(request.url.path, language_of(request.headers.get("accept-language")))

    def answer_scope(self, scope: Scope) -> JSONResponse:
        """The same from a middleware, which has the ASGI scope only."""
        accept = dict(scope.get("headers", ())).get(b"accept-language", b"").decode("latin-1")
        return self.response(scope.get("path"), language_of(accept))


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        kind = str(error.get("type", ""))
        # Our own validators already speak French ("un montant a au plus deux décimales").
        message = field_message("fr", kind, str(error.get("msg", "valeur invalide")).removeprefix("Value error, "))
        errors.append({"field": location or "body", "code": kind, "message": message})
    return errors


def problem_of(refusal: Refusal) -> Problem:
    """Every service's business refusals, one way: the stable code, the sentence, the figures
    (and ``Retry-After`` when the refusal says how long to wait). Middlewares, which answer before
    the exception handlers, use it too."""
    retry_after = refusal.details.get("retry_after")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Problem(refusal.status, refusal.code, refusal.message, headers=headers, **refusal.details)


_STATUS_PROBLEMS = {
    401: ("non-authentifie", "Authentification requise."),
    403: ("acces-refuse", "Accès refusé."),
    404: ("ressource-introuvable", "La ressource demandée n'existe pas."),
    405: ("methode-non-autorisee", "Méthode non autorisée pour cette ressource."),
    413: ("requete-trop-volumineuse", "La requête est trop volumineuse."),
}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return exc.answer(request)

    @app.exception_handler(Refusal)
    async def _refused(request: Request, exc: Refusal) -> JSONResponse:
        return problem_of(exc).answer(request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        if any(error["code"] == "json_invalid" for error in errors):
            problem = Problem(400, "json-invalide", "Le corps de la requête n'est pas un JSON valide.")
        else:
            problem = Problem(
                422,
                "requete-invalide",
                "La requête contient des valeurs invalides.",
                "; ".join(f"{e['field']} : {e['message']}" for e in errors),
                errors=errors,
            )
        return problem.answer(request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _STATUS_PROBLEMS.get(exc.status_code, ("erreur-http", "La requête n'a pas abouti."))
        headers = dict(exc.headers) if exc.headers else None
        return Problem(exc.status_code, code, title, headers=headers).answer(request)

    @app.exception_handler(PoolExhausted)
    async def _busy(request: Request, exc: PoolExhausted) -> JSONResponse:
        log.warning("database pool exhausted", extra={"path": request.url.path})
        return Problem(
            503,
            "service-sature",
            "Le service est momentanément saturé. Veuillez réessayer dans un instant.",
            headers={"Retry-After": "2"},
        ).answer(request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return Problem(
            500,
            "erreur-interne",
            "Une erreur interne est survenue. Veuillez réessayer plus tard.",
        ).answer(request)
