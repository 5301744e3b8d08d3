"""Request-independent security checks (outbound URLs)."""
