"""The service's limits, as ASGI middleware: body size, concurrent requests, time to send a body.

A request whose Content-Length is over the limit gets 413 before its body is read; a body without one (chunked) or
longer than it says is counted as it streams and refused with 413 at the first byte over. A body that has not
fully arrived within the time limit gets 408. Each refusal is a short JSON body and closes the connection, so the
rest of the body is never read. Beyond `max_requests` requests in progress (reading a body or being answered), a
new one gets 503 at once rather than a place in an unbounded queue. `GET /health` is outside these limits: it
reads no body and answers from memory, so a load balancer still sees a healthy service while it is busy.

The settings come from environment variables, read once when the service starts (see `Limits.from_environment`).
"""

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import UserError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNLIMITED = {("GET", "/health")}


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1_048_576
    max_requests: int = 32
    body_seconds: float = 10.0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "Limits":
        """SERVE_MAX_BODY_BYTES, SERVE_MAX_REQUESTS and SERVE_BODY_TIMEOUT (seconds), each positive; unset: the
        defaults. A value that is not a positive number is refused with one line."""
        return cls(
            max_body_bytes=positive(environ, "SERVE_MAX_BODY_BYTES", int, cls.max_body_bytes),
            max_requests=positive(environ, "SERVE_MAX_REQUESTS", int, cls.max_requests),
            body_seconds=positive(environ, "SERVE_BODY_TIMEOUT", float, cls.body_seconds),
        )


def positive(environ: Mapping[str, str], name: str, kind: type, default: float) -> Any:
    """The setting `name` as a positive `kind` (int or float), `default` when unset; one line refusing any other."""
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value > 0 or value == float("inf"):
        raise UserError(
            f"{name} is {text!r}: give a positive {'whole ' if kind is int else ''}number, e.g. {default}"
        )
    return value


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


@dataclass
class Traffic:
    """Requests in progress (reading a body or being answered), and how many of them are still reading their body:
    the batcher (release/batching.py) waits a moment for those before it scores."""

    active: int = 0
    reading: int = 0


class LimitsMiddleware:
    """Apply `Limits` to every HTTP request but GET /health; count the requests in progress in `traffic`."""

    def __init__(self, app: ASGIApp, limits: Limits, traffic: Traffic | None = None) -> None:
        self.app, self.limits = app, limits
        self.traffic = Traffic() if traffic is None else traffic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) in UNLIMITED:
            await self.app(scope, receive, send)
            return
        if self.traffic.active >= self.limits.max_requests:
            await refuse(send, 503, "the service is busy: retry in a moment", [(b"retry-after", b"1")])
            return
        self.traffic.active += 1  # one event loop: no lock needed
        try:
            await self._limited(scope, receive, send)
        finally:
            self.traffic.active -= 1

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limits.max_body_bytes
        if declared_length(scope) > limit:
            await refuse(send, 413, f"the request body is over {limit} bytes: send fewer rows per request")
            return
        self.traffic.reading += 1
        try:
            body = await asyncio.wait_for(read_body(receive, limit), self.limits.body_seconds)
        except _TooLarge:
            await refuse(send, 413, f"the request body is over {limit} bytes: send fewer rows per request")
            return
        except TimeoutError:
            await refuse(send, 408, f"the request body did not arrive within {self.limits.body_seconds:g} s")
            return
        except _Disconnected:
            return
        finally:
            self.traffic.reading -= 1
        await self.app(scope, replay(body, receive), send)


def declared_length(scope: Scope) -> int:
    """The request's Content-Length, 0 without one (the server has already refused a malformed one)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, refused at the first byte over `limit`."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        body += message.get("body", b"")
        if len(body) > limit:
            raise _TooLarge
        if not message.get("more_body", False):
            return bytes(body)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever the server says next (a disconnect)."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again


async def refuse(send: Send, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """A short JSON answer that closes the connection: what is left of the request is never read."""
    content = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
