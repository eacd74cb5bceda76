"""The library service: books and members over PostgreSQL."""
