import json
import os

from fastapi import FastAPI, Request
from psycopg2.pool import ThreadedConnectionPool

app = FastAPI()
pool = ThreadedConnectionPool(1, int(os.environ.get("DB_POOL_SIZE", "8")), os.environ["DATABASE_URL"])


@app.post("/webhooks/tracksolid")
async def receive(request: Request):
    payload = await request.json()
    conn = pool.getconn()
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO tracksolid.webhook_events (source, payload) VALUES (%s, %s)",
                ("tracksolid", json.dumps(payload)),
            )
            if payload.get("alarmType"):
                cur.execute(
                    "INSERT INTO tickets.tickets (imei, kind) VALUES (%s, %s)",
                    (payload.get("imei", ""), payload["alarmType"]),
                )
    finally:
        pool.putconn(conn)
    return {"ok": True}


@app.get("/healthz")
def healthz():
    return {"ok": True}
