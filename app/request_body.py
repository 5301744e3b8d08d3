"""Reading a request body within the size limit: the one loop that does it (``read_body``).

Used by ``BodySizeLimit``, the middleware ahead of every route of the full stack, and by the
webhook route's lean path (app/routes/webhooks.py), which runs ahead of that middleware: a body is
read chunk by chunk and refused as soon as it passes the limit, whatever Content-Length said, so a
chunked or lying upload is never buffered whole.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import problem, status_title


class BodyTooLarge(Exception):
    """The body went past the limit; the rest of it was not read."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"The request body is larger than the limit of {max_bytes} bytes.")


async def read_body(receive: Receive, max_bytes: int) -> tuple[bytes, Message | None]:
    """The body, and the message that cut it short (the client went away) or None.

    Raises ``BodyTooLarge`` as soon as more than ``max_bytes`` have arrived.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(max_bytes)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None


class BodySizeLimit:
    """Answer 413 for a body over ``max_bytes``, whether declared by Content-Length or streamed.

    The body is read (up to the limit) before the app runs and replayed to it, so a chunked upload
    without Content-Length is cut off at the limit instead of being buffered whole by the app.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._reply(scope, receive, send, 400, "Content-Length is not a number.")
                return
            if int(declared) > self.max_bytes:
                await self._reply_too_large(scope, receive, send)
                return
        try:
            # pending: the client went away; the app sees it after the body
            body, pending = await read_body(receive, self.max_bytes)
        except BodyTooLarge:
            await self._reply_too_large(scope, receive, send)
            return
        replay: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        if pending is not None:
            replay.append(pending)

        async def replayed_receive() -> Message:
            if replay:
                return replay.pop(0)
            return await receive()

        await self.app(scope, replayed_receive, send)

    async def _reply_too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"The request body is larger than the limit of {self.max_bytes} bytes."
        await self._reply(scope, receive, send, 413, detail)

    async def _reply(
        self, scope: Scope, receive: Receive, send: Send, status: int, detail: str
    ) -> None:
        # Connection: close, because the rest of the body is never read.
        response = problem(status, status_title(status), detail, headers={"Connection": "close"})
        await response(scope, receive, send)
