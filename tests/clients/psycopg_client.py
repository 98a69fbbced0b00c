"""psycopg 3 (libpq underneath) through a Tapgate forwarder, for tests/tests/e2e/clients.rs.

Usage: python3 psycopg_client.py CONNINFO
Connects with CONNINFO (a URI or keywords, as `tapgate dsn` prints it) and application_name
"psycopg", then prints `current_user|application_name` of its own session on one line.
The client's version goes to stderr; a failed connection's message too, with exit status 1.
"""

import sys

import psycopg

QUERY = (
    "select current_user, application_name from pg_stat_activity where pid = pg_backend_pid()"
)


def main() -> int:
    print(f"psycopg {psycopg.__version__}, libpq {psycopg.pq.version()}", file=sys.stderr)
    try:
        with psycopg.connect(sys.argv[1], application_name="psycopg", connect_timeout=10) as conn:
            user, application = conn.execute(QUERY).fetchone()
    except psycopg.Error as error:
        print(f"psycopg: {error}", file=sys.stderr)
        return 1
    print(f"{user}|{application}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
