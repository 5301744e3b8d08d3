"""Reading a request body within the size limit: the one loop that does it.

Used by ``BodySizeLimit`` (app/errors.py), ahead of every route of the full stack, and by the
webhook route's lean path (app/routes/webhooks.py), which runs ahead of that middleware: a body is
read chunk by chunk and refused as soon as it passes the limit, whatever Content-Length said, so a
chunked or lying upload is never buffered whole.
"""

from __future__ import annotations

from starlette.types import Message, Receive


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
