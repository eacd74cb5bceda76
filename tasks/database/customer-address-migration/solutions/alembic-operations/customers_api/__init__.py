"""The customers service: an HTTP API over the customers table of DATABASE_URL."""
