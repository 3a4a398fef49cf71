"""SQL storage through SQLAlchemy Core: SQLite embedded, PostgreSQL in production."""
