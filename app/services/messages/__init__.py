"""Messages to people: e-mail over SMTP, chat webhooks, and the outbox that sends and logs them."""
