"""Operating planbridge: Prometheus metrics, structured JSON logs and the request middleware."""
