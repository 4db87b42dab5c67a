"""Open a ticket for every vehicle that has gone quiet for an hour."""
import time

from sqlalchemy import text

from ingest.db import engine

STALE = text(
    "INSERT INTO tickets.tickets (imei, kind)"
    " SELECT p.imei, 'offline' FROM tracksolid.position_history p"
    " GROUP BY p.imei HAVING max(p.recorded_at) < now() - interval '1 hour'"
    " AND NOT EXISTS (SELECT 1 FROM tickets.tickets t"
    "                 WHERE t.imei = p.imei AND t.kind = 'offline' AND t.closed_at IS NULL)"
)


def main():
    while True:
        with engine.begin() as conn:
            conn.execute(STALE)
        time.sleep(300)


if __name__ == "__main__":
    main()
