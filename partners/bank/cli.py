"""``recouvrement bank serve``: run the reference bank."""


def serve_command() -> None:
    """Sert la banque de référence (BANK_CODES, BANK_RULES, BANK_DELAY_MS, BANK_HTTP_PORT)."""
    from partners.bank.config import BankSettings
    from services.runtime.serving import serve

    settings = BankSettings()
    serve("partners.bank.main:create_app", settings.http_host, settings.http_port)
