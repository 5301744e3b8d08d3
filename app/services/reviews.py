"""The weekly review of a plan: its public API, for the routes, the dashboard, the sync engine and
the ORM hooks. How a review is built is in the package ``app.services.weekly_review`` (its
docstring maps it); the response bodies are in ``app.schemas.reviews``, the Markdown rendering in
``app.services.review_markdown``.

- ``weekly_review``: the review of a plan and ISO week as of now (a finished week's parts read
  from storage, and with ``store=True`` stored the first time they are computed);
- ``freeze_last_week_reviews`` and ``enqueue_ready_reviews``: the worker's part once a week is
  over (store last week's reviews, announce ``review.ready``);
- ``drop_outdated_reviews``: the after-flush hook that drops stored weeks an event outdates;
- ``FREEZE_AFTER``: how long after its end a week is stored (and read back) as final.
"""

from __future__ import annotations

from app.services.weekly_review.announce import enqueue_ready_reviews, freeze_last_week_reviews
from app.services.weekly_review.assembly import weekly_review
from app.services.weekly_review.store import FREEZE_AFTER, drop_outdated_reviews

__all__ = [
    "FREEZE_AFTER",
    "drop_outdated_reviews",
    "enqueue_ready_reviews",
    "freeze_last_week_reviews",
    "weekly_review",
]
