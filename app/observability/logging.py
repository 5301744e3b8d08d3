"""Structured logs: one JSON line per event, ids bound from context, secrets scrubbed before output.

Ids travel in context variables, so any log call made while a request, an engine step or a
delivery is being handled carries them without threading them through every function::

    with bind_log_context(connection_id=connection.id, item_id=item.id):
        log.info("item pushed", extra={"outcome": "created"})

Redaction is the last thing before a line leaves the process, in the formatter, so it also covers
exception text, third-party loggers and ``extra`` fields: API tokens (``pb_...``),
``Bearer``/``Basic`` credentials, tracker tokens (GitHub, Atlassian, Trello), passwords in URLs,
``key=value`` pairs and JSON fields whose name says secret, and any exact value given to
``register_secret``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

REDACTED = "[redacted]"

CONTEXT_FIELDS = ("request_id", "workspace_id", "connection_id", "item_id", "delivery_id")
_context: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"planbridge_log_{name}", default=None) for name in CONTEXT_FIELDS
}
# Ids learned during a request (the workspace, once the token is checked). Sync dependencies and
# endpoints run in worker threads on *copies* of the request's context, so a plain context variable
# set there would never be seen by the endpoint or the access line; one shared dict per request is.
_request_fields: ContextVar[dict[str, str] | None] = ContextVar(
    "planbridge_log_request_fields", default=None
)

# Words that mark a field or parameter as secret, wherever they appear in its name.
_SECRET_NAME = (
    r"[\w-]*(?:password|passwd|secret|token|api[_-]?key|apikey|credential|authorization"
    r"|signature|private[_-]?key)[\w-]*"
)
_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # "Authorization: Bearer xyz", "Basic dXNlcjpwYXNz"; "token xyz" (GitHub's old scheme) only when
    # what follows is long enough to be a token rather than an English word.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + REDACTED),
    (re.compile(r"(?i)\b(token)\s+[A-Za-z0-9._~+/=-]{20,}"), r"\1 " + REDACTED),
    # planbridge API tokens, GitHub tokens, Atlassian API tokens, Fernet ciphertexts
    (re.compile(r"\bpb_[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), REDACTED),
    (re.compile(r"\bATATT[A-Za-z0-9_=-]{16,}"), REDACTED),
    (re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{20,}"), REDACTED),
    # user:password@ in URLs
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1" + REDACTED + "@"),
    # JSON or repr: "password": "x", 'api_key': 'x'
    (
        re.compile(r"""(?i)(["']""" + _SECRET_NAME + r"""["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2"""),
        r"\1\2" + REDACTED + r"\2",
    ),
    # query strings and key=value text: token=abc&key=def, password=hunter2
    (re.compile(r"(?i)\b(" + _SECRET_NAME + r"|key)=([^&\s\"',;]+)"), r"\1=" + REDACTED),
    # HTTP header lines: X-Hub-Signature-256: sha256=..., Authorization: ...
    (re.compile(r"(?i)\b(" + _SECRET_NAME + r")(\s*:\s*)([^\s,;]+)"), r"\1\2" + REDACTED),
]

_known_secrets: set[str] = set()
_known_secrets_lock = threading.Lock()
# Shorter values would match ordinary words; such secrets are refused by the settings anyway.
_MIN_KNOWN_SECRET_LENGTH = 8


def register_secret(value: str | None) -> None:
    """Never log this exact value (a decrypted tracker credential, a webhook secret, a key)."""
    if value and len(value) >= _MIN_KNOWN_SECRET_LENGTH:
        with _known_secrets_lock:
            _known_secrets.add(value)


def redact(text: str) -> str:
    """The text with every recognisable secret replaced by ``[redacted]``."""
    for known in sorted(_known_secrets, key=len, reverse=True):
        if known in text:
            text = text.replace(known, REDACTED)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(name: str, value: Any) -> Any:
    if re.fullmatch(_SECRET_NAME, name, flags=re.IGNORECASE):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(key): _redact_value(str(key), inner) for key, inner in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redact_value("", inner) for inner in value]
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def current_log_context() -> dict[str, str]:
    fields = dict(_request_fields.get() or {})
    fields.update(
        {name: value for name, var in _context.items() if (value := var.get()) is not None}
    )
    return fields


@contextmanager
def request_log_context(request_id: str) -> Iterator[dict[str, str]]:
    """Open the per-request id holder (the request middleware does this); yields the shared dict."""
    fields = {"request_id": request_id}
    token = _request_fields.set(fields)
    try:
        yield fields
    finally:
        _request_fields.reset(token)


@contextmanager
def bind_log_context(**ids: object) -> Iterator[None]:
    """Attach ids (workspace, connection, item, delivery) to every log line in this block."""
    tokens: list[tuple[ContextVar[str | None], Token[str | None]]] = []
    for name, value in ids.items():
        if name not in _context:
            raise ValueError(
                f"unknown log context field {name!r}; expected one of {CONTEXT_FIELDS}"
            )
        var = _context[name]
        tokens.append((var, var.set(None if value is None else str(value))))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def set_log_context(**ids: object) -> None:
    """Bind ids for the rest of the request (or of the current context outside a request)."""
    fields = _request_fields.get()
    for name, value in ids.items():
        if name not in _context:
            raise ValueError(
                f"unknown log context field {name!r}; expected one of {CONTEXT_FIELDS}"
            )
        if fields is not None:
            if value is None:
                fields.pop(name, None)
            else:
                fields[name] = str(value)
        else:
            _context[name].set(None if value is None else str(value))


# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


class JsonFormatter(logging.Formatter):
    """One JSON line: time, level, logger, message, bound ids, extra fields; all redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update(current_log_context())
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and not name.startswith("_"):
                entry[name] = _redact_value(name, value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Route every logger, uvicorn's included, through one JSON handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # Our middleware writes one line per request with its id; uvicorn's access line would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
    # Client libraries log request URLs and headers at DEBUG; keep them quiet unless asked for.
    for name in ("httpx", "httpcore", "urllib3", "github", "jira"):
        logging.getLogger(name).setLevel(max(logging.getLevelName(level.upper()), logging.WARNING))
