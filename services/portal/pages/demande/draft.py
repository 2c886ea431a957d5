"""What every step of a new request checks first."""

from typing import Any

from fastapi.responses import RedirectResponse

from services.portal.web import redirect


def in_draft(found: dict[str, Any]) -> RedirectResponse | None:
    """A request past its draft has nothing to choose any more: show where it stands."""
    return None if found["state"] == "DRAFT" else redirect(f"/demandes/{found['id']}")
