"""``recouvrement bank serve``: run the reference bank."""


def serve_command() -> None:
    """Sert la banque de référence (BANK_CODES, BANK_RULES, BANK_DELAY_MS, BANK_HTTP_PORT)."""
    import uvicorn

    from partners.bank.config import BankSettings

    settings = BankSettings()
    uvicorn.run(
        "partners.bank.main:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )
