"""Poll the Tracksolid API and append positions to tracksolid.position_history."""
import os
import time

import requests
from sqlalchemy import text

from ingest.db import engine

API_URL = os.environ.get("TRACKSOLID_API_URL", "http://tracksolid-proxy:9000/positions")
POLL_SECONDS = int(os.environ.get("POLL_SECONDS", "30"))

INSERT = text(
    "INSERT INTO tracksolid.position_history (imei, recorded_at, lat, lng, speed_kmh, odometer_km)"
    " VALUES (:imei, :recorded_at, :lat, :lng, :speed_kmh, :odometer_km)"
)


def main():
    while True:
        rows = requests.get(API_URL, timeout=20).json()
        if rows:
            with engine.begin() as conn:
                conn.execute(INSERT, rows)
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    main()
