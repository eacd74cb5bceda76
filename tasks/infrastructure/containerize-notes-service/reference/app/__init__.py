"""The notes service: short text notes with tags, stored in PostgreSQL."""
