"""Alembic migrations of the state database, packaged with the wheel and run at open."""
