"""Where a process finds its database when nothing says otherwise: the embedded Postgres ``make run``
starts (``services/stack``, port 15432 unless ``RECOUVREMENT_PG_PORT`` moves it and the launcher tells
each process its ``DATABASE_URL``). No imports: every command line reads it before loading anything."""

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:15432"


def local_database(name: str) -> str:
    """The DSN of the database ``name`` on the embedded Postgres."""
    return f"{LOCAL_POSTGRES}/{name}"
