"""Local emulators of the trackers' APIs, served over real loopback HTTP by uvicorn."""
