-- First start only: the gateway/cron database lives on the same server.
CREATE DATABASE fleet_platform;
