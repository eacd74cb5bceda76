"""The shop's order service."""
