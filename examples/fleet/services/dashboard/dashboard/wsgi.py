"""Read-only API behind the fleet dashboard (the DSN sets default_transaction_read_only)."""
import os

from flask import Flask, jsonify
from sqlalchemy import create_engine, text

# DB_POOL_SIZE is the service-wide total, split over gunicorn's workers (-w 2).
GUNICORN_WORKERS = 2
engine = create_engine(
    os.environ["DATABASE_URL"],
    pool_size=max(1, int(os.environ.get("DB_POOL_SIZE", "6")) // GUNICORN_WORKERS),
    max_overflow=0,
)
app = Flask(__name__)


@app.get("/api/mileage/<imei>")
def mileage(imei):
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT day, km FROM reporting.v_mileage_daily_cagg"
                 " WHERE imei = :imei ORDER BY day DESC LIMIT 30"),
            {"imei": imei},
        )
        return jsonify([{"day": r.day.isoformat(), "km": r.km} for r in rows])


@app.get("/api/trips/<imei>")
def trips(imei):
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM reporting.v_trips WHERE imei = :imei ORDER BY started_at DESC LIMIT 50"),
            {"imei": imei},
        )
        return jsonify([dict(r._mapping) for r in rows])
