"""The login door: an address past its limits is answered 429 before FastAPI reads a byte of its body.

A flood's refused attempts must cost as little as possible: measured on two cores, 3,000 refusals
answered from the handler (body read, validation, dependencies) took 22 s of auth's one event loop
and kept the owner's own login over a second. Here they are a dictionary lookup and a small answer.

And they come slowly: a refusal is held ``TARPIT_SECONDS`` before it is sent. A flooder waits for
its answers (a closed loop: scripts, wrk, browsers), so 60 connections then make at most 120
attempts a second instead of a thousand, and every other caller's request no longer queues behind
a thousand refusals on the one event loop. A sleeping refusal costs a socket and a few hundred
bytes; past ``TARPIT_MAX`` of them at once, refusals are sent at once (the sockets stay bounded).
"""

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from services.auth.service.gate import LoginGate, TooManyAttempts
from services.runtime.client_address import Network, client_address
from services.runtime.problems import problem_of

LOGIN_PATH = "/v1/sessions"
TARPIT_SECONDS = 0.5
TARPIT_MAX = 256


class LoginDoor:
    def __init__(self, app: ASGIApp, gate: LoginGate, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.gate = gate
        self.trusted = trusted
        self.held = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != LOGIN_PATH:
            await self.app(scope, receive, send)
            return
        peer = scope["client"][0] if scope.get("client") else None
        forwarded = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"), None)
        address = client_address(peer, forwarded, self.trusted)
        try:
            async with self.gate.address_admitted(address):
                scope.setdefault("state", {})["caller_address"] = address
                await self.app(scope, receive, send)
        except TooManyAttempts as busy:
            if self.held < TARPIT_MAX:
                self.held += 1
                try:
                    await asyncio.sleep(TARPIT_SECONDS)
                finally:
                    self.held -= 1
            await problem_of(busy).response(LOGIN_PATH)(scope, receive, send)
