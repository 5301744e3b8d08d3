"""The REST API under ``/api/v1``; each module holds one resource's routes."""

from fastapi import APIRouter

from app.routes import (
    calendar,
    checkin_links,
    checkins,
    connections,
    deliveries,
    focus,
    goals,
    insights,
    items,
    people,
    person_channels,
    plan_import,
    plans,
    probes,
    reminders,
    reviews,
    subscriptions,
    sync,
    teams,
    tokens,
    workspace,
)

api_router = APIRouter(prefix="/api/v1")
# Resource routers register here (one line each):
api_router.include_router(people.router)
# Ahead of plans: /plans/import is not /plans/{plan_id} with the id "import".
api_router.include_router(plan_import.router)
api_router.include_router(plans.router)
api_router.include_router(goals.router)
api_router.include_router(items.router)
api_router.include_router(tokens.router)
api_router.include_router(checkins.router)
api_router.include_router(insights.router)
api_router.include_router(reviews.router)
api_router.include_router(focus.router)
api_router.include_router(calendar.router)
api_router.include_router(subscriptions.router)
api_router.include_router(connections.router)
api_router.include_router(sync.router)
api_router.include_router(checkin_links.router)
api_router.include_router(person_channels.router)
api_router.include_router(teams.router)
api_router.include_router(deliveries.router)
api_router.include_router(workspace.router)
api_router.include_router(reminders.router)

__all__ = ["api_router", "probes"]
