#!/usr/bin/env python3
"""Generate a synthetic compose stack for `make bench`.

usage: gen-stack.py SERVICES FILES OUTDIR

Writes OUTDIR/compose-NN.yml (FILES of them, services spread evenly),
OUTDIR/.env, OUTDIR/env/*.env and a few shared build contexts under
OUTDIR/ctx/.  The output is deterministic (fixed seed) so figures are
comparable between runs.

The stack stays inside docker-compose v1's (1.29.2) subset so that
`docker-compose config` can read the same files: no top-level `name:`,
no `${VAR:+alt}` / `${VAR+alt}` forms, anchors local to each file.

What a service may carry (fractions are approximate):
  - `<<: *svc-defaults` (restart, logging, labels, depends_on db healthy)
  - environment as a map with `<<: *common-env` (75%) or as a list (25%)
  - a DSN in one of several forms: URI with a driver suffix
    (postgresql+psycopg2://, postgresql+asyncpg://), plain postgres:// URI
    with query parameters, libpq key=value, split DB_HOST/DB_PORT/... ,
    a JDBC URL with separate user/password; some services have none
  - ${VAR}, ${VAR:-default}, ${VAR:?err} and $$ escapes
  - env_file: a shared group file (20%), some carrying the DSN themselves
  - build: one of six shared contexts with small Dockerfiles (10%)
  - a command running migrations (12%) or a plain start command
  - ports, healthcheck, volumes for some
Later files override a few services of the file before them (added
environment, a changed image tag), as compose.override.yml files do.
"""

import os
import random
import sys

CONTEXTS = {
    "py-api": (
        "FROM python:3.12-slim\n"
        "WORKDIR /app\n"
        "COPY requirements.txt .\n"
        "RUN pip install --no-cache-dir -r requirements.txt\n"
        "COPY . .\n"
        "EXPOSE 8000\n"
        'CMD ["gunicorn", "app.wsgi:app", "-b", "0.0.0.0:8000"]\n'
    ),
    "py-migrate": (
        "FROM python:3.12-slim\n"
        "WORKDIR /app\n"
        "COPY requirements.txt .\n"
        "RUN pip install --no-cache-dir -r requirements.txt\n"
        "COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh\n"
        "COPY . .\n"
        'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]\n'
        'CMD ["python", "-m", "app.main"]\n'
    ),
    "node-api": (
        "FROM node:20-alpine\n"
        "WORKDIR /srv\n"
        "COPY package.json package-lock.json ./\n"
        "RUN npm ci --omit=dev\n"
        "COPY . .\n"
        'CMD ["node", "server.js"]\n'
    ),
    "go-svc": (
        "FROM golang:1.22 AS build\n"
        "WORKDIR /src\n"
        "COPY . .\n"
        "RUN go build -o /out/svc ./cmd/svc\n"
        "\n"
        "FROM gcr.io/distroless/base-debian12\n"
        "COPY --from=build /out/svc /svc\n"
        'ENTRYPOINT ["/svc"]\n'
    ),
    "rails": (
        "FROM ruby:3.3-slim\n"
        "WORKDIR /app\n"
        "COPY Gemfile Gemfile.lock ./\n"
        "RUN bundle install\n"
        "COPY . .\n"
        'CMD ["bin/rails", "db:migrate"]\n'
    ),
    "worker": (
        "FROM python:3.12-slim\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        'CMD ["celery", "-A", "app", "worker"]\n'
    ),
}

ENTRYPOINT_SH = (
    "#!/bin/sh\n"
    "set -e\n"
    "alembic upgrade head\n"
    'exec "$@"\n'
)

MIGRATE_CMDS = [
    'sh -c "alembic upgrade head && exec gunicorn app.wsgi:app -b 0.0.0.0:8000"',
    '["python", "manage.py", "migrate", "--noinput"]',
    'sh -c "python run_migrations.py && exec uvicorn app.main:app --host 0.0.0.0"',
    '["npx", "knex", "migrate:latest"]',
    'bundle exec rails db:migrate',
]
PLAIN_CMDS = [
    '["gunicorn", "app.wsgi:app", "-b", "0.0.0.0:8000", "-w", "4"]',
    'celery -A app worker --loglevel=info',
    '["node", "dist/server.js"]',
    'uvicorn app.main:app --host 0.0.0.0 --port 8080',
]
DSN_FORMS = ["uri_driver", "uri_asyncpg", "uri_query", "kv", "split", "jdbc", "none"]
DSN_WEIGHTS = [22, 8, 12, 12, 18, 6, 8]


def dsn_env(form, db, svc):
    """Environment entries (key, value) carrying a DSN in the given form.

    Seven services in eight connect as the superuser (postgres, the db
    service's only one): the stack dsnflip exists for.  The eighth already
    has a user of its own, and the plan skips it.
    """
    user = "u_%s" % db if int(svc.rsplit("-", 1)[1]) % 8 == 7 else "postgres"
    if form == "uri_driver":
        return [("DATABASE_URL",
                 "postgresql+psycopg2://%s:${PG_PASSWORD}@${PG_HOST:-db}:5432/%s" % (user, db))]
    if form == "uri_asyncpg":
        return [("SQLALCHEMY_DATABASE_URI",
                 "postgresql+asyncpg://%s:${PG_PASSWORD}@db:5432/%s" % (user, db))]
    if form == "uri_query":
        return [("DATABASE_URL",
                 "postgres://%s:${PG_PASSWORD}@db/%s?sslmode=disable&application_name=%s&pool_size=5"
                 % (user, db, svc))]
    if form == "kv":
        return [("PG_DSN",
                 "host=db port=5432 dbname=%s user=%s password=${PG_PASSWORD} sslmode=prefer"
                 % (db, user))]
    if form == "split":
        return [("DB_HOST", "db"), ("DB_PORT", "5432"), ("DB_NAME", db),
                ("DB_USER", user), ("DB_PASSWORD", "${PG_PASSWORD}"),
                ("DB_POOL_MAX", "4")]
    if form == "jdbc":
        return [("SPRING_DATASOURCE_URL", "jdbc:postgresql://db:5432/%s" % db),
                ("SPRING_DATASOURCE_USERNAME", user),
                ("SPRING_DATASOURCE_PASSWORD", "${PG_PASSWORD}")]
    return []


def q(v):
    """A YAML double-quoted scalar (values here hold no quotes or backslashes)."""
    return '"%s"' % v


def gen(nsvc, nfiles, out):
    rnd = random.Random(20240601 + nsvc)
    ndb = max(4, nsvc // 8)
    ngroups = 12
    os.makedirs(os.path.join(out, "env"), exist_ok=True)

    with open(os.path.join(out, ".env"), "w") as f:
        f.write("# synthetic bench stack\n"
                "PG_PASSWORD=bench-not-a-secret\n"
                "PG_HOST=db\n"
                "APP_TAG=2024.06.1\n"
                "LOG_LEVEL=info\n"
                "REGISTRY=registry.example.com/acme\n")
    for g in range(ngroups):
        with open(os.path.join(out, "env", "group-%02d.env" % g), "w") as f:
            f.write("# shared settings for group %d\n" % g)
            f.write("FEATURE_FLAGS=alpha,beta\nTZ=UTC\nMETRICS_PORT=9%03d\n" % g)
            if g % 3 == 0:
                f.write("DATABASE_URL=postgres://u_app_%d:${PG_PASSWORD}@db:5432/app_%d\n"
                        % (g, g))
    for name, text in CONTEXTS.items():
        d = os.path.join(out, "ctx", name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "Dockerfile"), "w") as f:
            f.write(text)
        if name == "py-migrate":
            with open(os.path.join(d, "docker-entrypoint.sh"), "w") as f:
                f.write(ENTRYPOINT_SH)
            os.chmod(os.path.join(d, "docker-entrypoint.sh"), 0o755)
    ctx_names = list(CONTEXTS)
    with open(os.path.join(out, "dsnflip.yml"), "w") as f:
        f.write("# the server is sized for the synthetic fleet\n"
                "server:\n  max_connections: %d\n" % (nsvc * 12))

    per_file = [nsvc // nfiles + (1 if k < nsvc % nfiles else 0) for k in range(nfiles)]
    names_by_file = []
    i = 0
    for k in range(nfiles):
        names_by_file.append(["svc-%05d" % (i + j) for j in range(per_file[k])])
        i += per_file[k]

    for k in range(nfiles):
        L = []
        w = L.append
        w("# synthetic bench stack, file %d of %d" % (k + 1, nfiles))
        w("x-svc-defaults: &svc-defaults")
        w("  restart: unless-stopped")
        w("  logging:")
        w("    driver: json-file")
        w("    options:")
        w('      max-size: "10m"')
        w('      max-file: "3"')
        w("  labels:")
        w("    com.example.team: team-%d" % (k % 7))
        w("    com.example.tier: backend")
        w("  depends_on:")
        w("    db:")
        w("      condition: service_healthy")
        w("")
        w("x-common-env: &common-env")
        w("  LOG_LEVEL: ${LOG_LEVEL:-info}")
        w("  TZ: UTC")
        w('  OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4317"')
        w("  CACHE_URL: redis://cache:6379/%d" % (k % 16))
        w("")
        w("services:")
        if k == 0:
            w("  db:")
            w("    image: postgres:16")
            w('    command: ["postgres", "-c", "max_connections=%d"]' % max(200, nsvc * 6))
            w("    environment:")
            w("      POSTGRES_PASSWORD: ${PG_PASSWORD:?set PG_PASSWORD}")
            w("      POSTGRES_DB: postgres")
            w("    ports:")
            w('      - "5432:5432"')
            w("    volumes:")
            w("      - pgdata:/var/lib/postgresql/data")
            w("    healthcheck:")
            w('      test: ["CMD-SHELL", "pg_isready -U postgres"]')
            w("      interval: 10s")
            w("      timeout: 5s")
            w("      retries: 5")
            w("    restart: unless-stopped")
            w("")
        # A few overrides of the previous file's services.
        if k > 0:
            for name in rnd.sample(names_by_file[k - 1], min(3, len(names_by_file[k - 1]))):
                w("  %s:" % name)
                w("    environment:")
                w("      - OVERRIDDEN_BY=compose-%02d.yml" % k)
                w('      - DB_POOL_SIZE=3')
                w("")
        base = sum(per_file[:k])
        for j, name in enumerate(names_by_file[k]):
            idx = base + j
            db = "app_%d" % rnd.randrange(ndb)
            form = rnd.choices(DSN_FORMS, DSN_WEIGHTS)[0]
            as_list = rnd.random() < 0.25
            w("  %s:" % name)
            w("    <<: *svc-defaults")
            if rnd.random() < 0.10:
                ctx = ctx_names[rnd.randrange(len(ctx_names))]
                if rnd.random() < 0.5:
                    w("    build: ./ctx/%s" % ctx)
                else:
                    w("    build:")
                    w("      context: ./ctx/%s" % ctx)
                    w("      dockerfile: Dockerfile")
                    w("      args:")
                    w("        APP_VERSION: ${APP_TAG}")
                w("    image: ${REGISTRY}/%s:${APP_TAG:-latest}" % name)
            else:
                w("    image: ${REGISTRY}/%s:${APP_TAG:-latest}" % name)
            r = rnd.random()
            if r < 0.12 and form != "none":
                w("    command: %s" % MIGRATE_CMDS[rnd.randrange(len(MIGRATE_CMDS))])
            elif r < 0.50:
                w("    command: %s" % PLAIN_CMDS[rnd.randrange(len(PLAIN_CMDS))])
            if rnd.random() < 0.20:
                w("    env_file: ./env/group-%02d.env" % rnd.randrange(ngroups))
            env = dsn_env(form, db, name)
            env += [("SERVICE_NAME", name),
                    ("WORKERS", str(1 + idx % 8)),
                    ("SENTRY_DSN", "https://key@sentry.example.com/%d" % (idx % 97)),
                    ("SECRET_KEY", "$${SECRET_KEY_FROM_VAULT}")]
            if rnd.random() < 0.3:
                env.append(("DB_POOL_SIZE", str(2 + idx % 6)))
            w("    environment:")
            if as_list:
                for key, val in env:
                    w("      - %s=%s" % (key, val))
            else:
                w("      <<: *common-env")
                for key, val in env:
                    w("      %s: %s" % (key, q(val)))
            if idx % 10 == 0:
                w("    ports:")
                w('      - "%d:8000"' % (20000 + idx))
            if idx % 7 == 0:
                w("    healthcheck:")
                w('      test: ["CMD", "curl", "-fsS", "http://localhost:8000/health"]')
                w("      interval: 30s")
            if idx % 13 == 0:
                w("    volumes:")
                w("      - ./data/%s:/var/lib/app" % name)
            w("")
        if k == 0:
            w("volumes:")
            w("  pgdata:")
        with open(os.path.join(out, "compose-%02d.yml" % k), "w") as f:
            f.write("\n".join(L) + "\n")


def main():
    if len(sys.argv) != 4:
        sys.stderr.write("usage: gen-stack.py SERVICES FILES OUTDIR\n")
        return 2
    gen(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
