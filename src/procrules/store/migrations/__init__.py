"""Alembic migrations of the store, shipped inside the package (see env.py for how to add one)."""
