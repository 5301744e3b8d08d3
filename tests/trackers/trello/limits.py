"""Trello's documented rate limits, on the emulator clock.

300 requests per 10 s per API key and 100 per 10 s per token; past the limit a 429 with
``{"error": "API_KEY_LIMIT_EXCEEDED"`` (or ``API_TOKEN_LIMIT_EXCEEDED``),
``"message": "Rate limit exceeded"}``, and once a key has had more than 200 refusals in a
window every request of that key is refused for the rest of it (https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/).
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from tests.trackers.faults import EmulatorClock, WindowLimiter

WINDOW_SECONDS = 10.0
KEY_LIMIT = 300
TOKEN_LIMIT = 100
REFUSALS_BEFORE_LOCKOUT = 200


class TrelloRateLimits:
    def __init__(self, clock: EmulatorClock) -> None:
        self.per_key = WindowLimiter(clock, KEY_LIMIT, WINDOW_SECONDS)
        self.per_token = WindowLimiter(clock, TOKEN_LIMIT, WINDOW_SECONDS)
        self.refusals = WindowLimiter(clock, REFUSALS_BEFORE_LOCKOUT, WINDOW_SECONDS)
        self.refused_count = 0

    @staticmethod
    def refusal(error: str) -> JSONResponse:
        return JSONResponse({"error": error, "message": "Rate limit exceeded"}, status_code=429)

    def admit(self, api_key: str, token: str) -> JSONResponse | None:
        """None when the request may go (and is counted), else the 429 Trello sends."""
        error = None
        locked_out = self.refusals.used(api_key) > REFUSALS_BEFORE_LOCKOUT
        if locked_out or self.per_key.retry_after(api_key) is not None:
            error = "API_KEY_LIMIT_EXCEEDED"
        elif self.per_token.retry_after(token) is not None:
            error = "API_TOKEN_LIMIT_EXCEEDED"
        if error is not None:
            self.refusals.record(api_key)
            self.refused_count += 1
            return self.refusal(error)
        self.per_key.record(api_key)
        self.per_token.record(token)
        return None

    def headers(self, api_key: str, token: str) -> dict[str, str]:
        # Not in the guide but sent by Trello and read by some clients; planbridge records them.
        return {
            "x-rate-limit-api-key-interval-ms": str(int(WINDOW_SECONDS * 1000)),
            "x-rate-limit-api-key-max": str(KEY_LIMIT),
            "x-rate-limit-api-key-remaining": str(KEY_LIMIT - self.per_key.used(api_key)),
            "x-rate-limit-api-token-interval-ms": str(int(WINDOW_SECONDS * 1000)),
            "x-rate-limit-api-token-max": str(TOKEN_LIMIT),
            "x-rate-limit-api-token-remaining": str(TOKEN_LIMIT - self.per_token.used(token)),
        }
