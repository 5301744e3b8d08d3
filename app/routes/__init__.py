"""The REST API under ``/api/v1``; each module holds one resource's routes."""

from fastapi import APIRouter

from app.routes import health

api_router = APIRouter(prefix="/api/v1")
# Resource routers register here (one line each):

__all__ = ["api_router", "health"]
