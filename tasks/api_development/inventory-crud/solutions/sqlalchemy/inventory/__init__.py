"""Inventory items API (FastAPI + SQLAlchemy ORM)."""
