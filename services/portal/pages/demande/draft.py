"""What every step of a new request checks first."""

from typing import Any

from fastapi.responses import RedirectResponse

from services.portal.web import redirect


def in_draft(found: dict[str, Any]) -> RedirectResponse | None:
    """A request past its draft has nothing to choose any more: show where it stands."""
    return None if found["state"] == "DRAFT" else redirect(f"/demandes/{found['id']}")


def quote_of(found: dict[str, Any], devis: dict[str, Any]) -> dict[str, Any] | None:
    """The quote if it is one this request can validate, else ``None``. A group account may read the
    quotes of each of its affiliates, so a quote's id in a request's address (``?devis=``) can name
    another affiliate's, or one made for the other modality: its figures are not shown beside this
    request's conditions, where validating it would only be refused."""
    fits = devis.get("affiliate") == found.get("affiliate") and devis.get("modality") == found.get("modality")
    return devis if fits else None
