CREATE SCHEMA IF NOT EXISTS tracksolid;
CREATE SCHEMA IF NOT EXISTS tickets;

CREATE TABLE IF NOT EXISTS tracksolid.webhook_events (
    id          bigserial PRIMARY KEY,
    source      text        NOT NULL,
    payload     jsonb       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS tickets.tickets (
    id         bigserial PRIMARY KEY,
    imei       text        NOT NULL,
    kind       text        NOT NULL,
    opened_at  timestamptz NOT NULL DEFAULT now(),
    closed_at  timestamptz
);
