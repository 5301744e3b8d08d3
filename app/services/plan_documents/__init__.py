"""Plans as files: read a plan document (YAML, JSON, Markdown, CSV), show and apply its
difference to a workspace in one transaction, and write a plan back out in each format."""
