"""The ways a message leaves: e-mail over SMTP (``aiosmtplib``), SMS through a provider's HTTP API or,
in development, into a file. Each raises ``Undelivered`` when it could not hand the message over:
``permanent`` when trying again cannot help (an address the relay refuses, a number the provider
rejects), otherwise the sender tries again later."""

import json
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Protocol

import aiosmtplib
import httpx

_ADDRESS = re.compile(r"\S+@\S+")
"""a relay's answer often repeats the address; the reason is logged and kept, the address never is"""


class Undelivered(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str = "application/pdf"


@dataclass(frozen=True)
class Outgoing:
    to: str
    subject: str
    text: str
    reference: str
    """the notification's id: the Message-ID of a mail and the provider's reference of an SMS, so a
    copy sent again after a crash is recognisable as the same one"""
    attachment: Attachment | None = None


class Sender(Protocol):
    async def send(self, message: Outgoing) -> None: ...


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    """the From: address"""
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 15.0

    async def send(self, message: Outgoing) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to  # a contract-checked address: no blank, no line break (contracts/identifiers.py)
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{message.reference}@recouvrement.cnss.ma>"
        mail.set_content(message.text)
        if message.attachment is not None:
            maintype, subtype = message.attachment.mime.split("/", 1)
            mail.add_attachment(
                message.attachment.content, maintype=maintype, subtype=subtype, filename=message.attachment.filename
            )
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = sorted({refusal.code for refusal in exc.recipients})
            raise Undelivered(f"adresse refusée par le relais : {codes}", permanent=True) from None
        except aiosmtplib.SMTPResponseException as exc:
            said = _ADDRESS.sub("<adresse>", exc.message)[:200]
            raise Undelivered(f"relais SMTP : {exc.code} {said}", permanent=500 <= exc.code < 600) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise Undelivered(f"relais SMTP injoignable : {type(exc).__name__}", permanent=False) from None


@dataclass(frozen=True)
class FileSmsSender:
    """Development and tests: each SMS a JSON line in a file, as a provider would have received it."""

    path: Path

    async def send(self, message: Outgoing) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"to": message.to, "text": message.text, "reference": message.reference}, ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as sink:
            sink.write(line + "\n")


@dataclass(frozen=True)
class HttpSmsSender:
    """A provider's HTTP API: ``POST url`` with ``{"to", "text", "reference"}`` and a bearer token.
    2xx: taken; 429 and 5xx: later; any other 4xx: this message never will be."""

    url: str
    token: str | None
    client: httpx.AsyncClient

    async def send(self, message: Outgoing) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {"to": message.to, "text": message.text, "reference": message.reference}
        try:
            answer = await self.client.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Undelivered(f"fournisseur SMS injoignable : {type(exc).__name__}", permanent=False) from None
        if answer.is_success:
            return
        permanent = 400 <= answer.status_code < 500 and answer.status_code not in (408, 429)
        raise Undelivered(f"fournisseur SMS : HTTP {answer.status_code}", permanent=permanent)
