"""The incremental-poll cursor for GitHub's issue list (``since``, ``sort=updated``, ETag).

GitHub lists issues "updated at or after ``since``", newest last with ``direction=asc``. The cursor
keeps the ``since`` it asks with, the ETag of the last full answer (an unchanged repository then
answers 304, which costs no rate limit), and a digest per issue it has already reported, so the
issues re-listed at the boundary second or inside the lookback window are not reported twice.
While the answer stays small, ``since`` is left where it is so the request, and its ETag, stay the
same; once it grows, ``since`` moves to the newest change minus the lookback, and once GitHub's
clock (its ``date`` header) is past that lookback, to the second after the newest change.
Pages after the first are asked for by moving ``since`` to the last timestamp of the page (keyset,
immune to issues jumping to the end of the list while it is read); only a page whose issues all
share one second follows the ``link`` header's next URL instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.base import MARKER_LABEL, RemoteItem
from connectors.github.client import Page
from connectors.github.mapping import format_time, parse_time

# GitHub's timestamps are whole seconds; a keyset restart overlaps one second in case ``since``
# turns out to be exclusive at that resolution.
KEYSET_OVERLAP = timedelta(seconds=1)
# Once settled, the poll asks from the second after the newest change it has read.
SETTLED_STEP = timedelta(seconds=1)


@dataclass
class PollCursor:
    lookback: timedelta
    since: datetime | None = None
    etag: str | None = None
    next_url: str | None = None
    # issue number -> (updated_at, digest of what was reported)
    seen: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    more: bool = False

    @classmethod
    def load(cls, cursor: dict[str, Any] | None, lookback: timedelta) -> PollCursor:
        if not cursor:
            return cls(lookback)
        seen = {}
        for number, (updated_at, digest) in (cursor.get("seen") or {}).items():
            moment = parse_time(updated_at)
            if moment is not None:
                seen[str(number)] = (moment, str(digest))
        return cls(
            lookback,
            since=parse_time(cursor.get("since")),
            etag=cursor.get("etag"),
            next_url=cursor.get("next_url"),
            seen=seen,
        )

    def dump(self) -> dict[str, Any]:
        return {
            "since": format_time(self.since) if self.since else None,
            "etag": self.etag,
            "next_url": self.next_url,
            "seen": {
                number: [format_time(at), digest] for number, (at, digest) in self.seen.items()
            },
        }

    def parameters(self, page_size: int) -> dict[str, Any]:
        parameters: dict[str, Any] = {
            "state": "all",
            "labels": MARKER_LABEL,
            "sort": "updated",
            "direction": "asc",
            "per_page": str(page_size),
        }
        if self.since is not None:
            parameters["since"] = format_time(self.since)
        return parameters

    def absorb(
        self, items: list[RemoteItem], digest: Callable[[RemoteItem], str]
    ) -> list[RemoteItem]:
        """The items not yet reported in this state; remembers them."""
        changed = []
        for item in items:
            fingerprint = digest(item)
            known = self.seen.get(item.ref.external_id)
            if known is None or known[1] != fingerprint:
                changed.append(item)
            self.seen[item.ref.external_id] = (item.updated_at, fingerprint)
        return changed

    def after_page(self, page: Page, page_size: int) -> None:
        """Decide where the next request starts, from the page just read."""
        was_follow_up = self.next_url is not None
        stamps = [moment for row in page.rows if (moment := parse_time(row.get("updated_at")))]
        self.more = page.next_url is not None
        self.next_url = None
        if self.more:
            self.etag = None
            if stamps and stamps[0] < stamps[-1] - KEYSET_OVERLAP:
                self.since = stamps[-1] - KEYSET_OVERLAP
            else:
                self.next_url = page.next_url
        elif not was_follow_up and len(page.rows) <= page_size // 2:
            self.etag = page.etag
        else:
            newest = max((at for at, _ in self.seen.values()), default=self.since)
            self.etag = None
            if newest is None:
                self.since = None
            elif page.server_time is not None and page.server_time - self.lookback > newest:
                # Settled: GitHub's clock is past the lookback, so every issue updated up to
                # ``newest`` has been read. Without this, a burst larger than half a page inside
                # the newest lookback window was downloaded again by every quiet poll. ``since`` is
                # inclusive, so the next second on is asked for at once (an empty answer, whose
                # ETag makes the next quiet poll one 304).
                self.since = newest + SETTLED_STEP
                self.more = True
            else:
                self.since = newest - self.lookback
        if self.since is not None:
            self.seen = {n: entry for n, entry in self.seen.items() if entry[0] >= self.since}
