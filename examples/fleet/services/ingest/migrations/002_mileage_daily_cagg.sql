CREATE SCHEMA IF NOT EXISTS reporting;

-- WITH NO DATA so it can run inside run_migrations.py's transaction.
CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.v_mileage_daily_cagg
WITH (timescaledb.continuous) AS
SELECT imei,
       time_bucket(interval '1 day', recorded_at) AS day,
       max(odometer_km) - min(odometer_km)        AS km
FROM tracksolid.position_history
GROUP BY imei, day
WITH NO DATA;

SELECT add_continuous_aggregate_policy('reporting.v_mileage_daily_cagg',
    start_offset => interval '3 days', end_offset => interval '1 hour',
    schedule_interval => interval '1 hour', if_not_exists => true);
