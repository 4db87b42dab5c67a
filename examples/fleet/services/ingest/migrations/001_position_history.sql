CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE SCHEMA IF NOT EXISTS tracksolid;

CREATE TABLE IF NOT EXISTS tracksolid.position_history (
    imei        text             NOT NULL,
    recorded_at timestamptz      NOT NULL,
    lat         double precision NOT NULL,
    lng         double precision NOT NULL,
    speed_kmh   real,
    odometer_km double precision
);
SELECT create_hypertable('tracksolid.position_history', 'recorded_at',
                         chunk_time_interval => interval '1 day', if_not_exists => true);
CREATE INDEX IF NOT EXISTS position_history_imei_time
    ON tracksolid.position_history (imei, recorded_at DESC);
