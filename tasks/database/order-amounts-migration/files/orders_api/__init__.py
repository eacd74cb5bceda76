"""The orders service: an HTTP API over the orders table of DATABASE_URL."""
