#!/usr/bin/env python3
"""Create the plan's roles when `dsnflip roles apply` is not available.

usage: roles-fallback.py PLAN_JSON SECRETS_FILE  > roles.sql

The Docker tier needs the roles on the server with passwords from dsnflip's
secrets file.  `dsnflip roles apply` does that (issue 3); until it exists in
this build, this stand-in does the same minimal job: a 48-hex password per
role generated once into SECRETS_FILE (0600, the format secrets.c reads),
and SQL on stdout that creates each role LOGIN NOSUPERUSER with the planned
CONNECTION LIMIT and settings, its password as a SCRAM-SHA-256 verifier
computed here (no plaintext reaches the server or its log), ownership of
the application schema's superuser-owned tables for owner roles, and
grants for writers and readers.  Nothing is printed but SQL.
"""
import base64
import hashlib
import hmac
import json
import os
import sys


def scram(password):
    salt = os.urandom(16)
    it = 4096
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, it)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored = hashlib.sha256(client_key).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    b = lambda x: base64.b64encode(x).decode()
    return f"SCRAM-SHA-256${it}:{b(salt)}${b(stored)}:{b(server)}"


def ident(s):
    return '"' + s.replace('"', '""') + '"'


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    plan = json.load(open(sys.argv[1]))
    path = sys.argv[2]
    secrets = {}
    if os.path.exists(path):
        for line in open(path):
            if "=" in line and not line.startswith("#"):
                k, v = line.rstrip("\n").split("=", 1)
                secrets[k] = v
    for r in plan["roles"]:
        key = r["name"].upper() + "_PASSWORD"
        secrets.setdefault(key, os.urandom(24).hex())
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for k in sorted(secrets):
            f.write(f"{k}={secrets[k]}\n")
    os.rename(path + ".tmp", path)

    out = ["\\set ON_ERROR_STOP 1"]
    for r in plan["roles"]:
        name = r["name"]
        pw = scram(secrets[name.upper() + "_PASSWORD"])
        out.append(f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {lit(name)}) "
                   f"THEN CREATE ROLE {ident(name)}; END IF; END$$;")
        out.append(f"ALTER ROLE {ident(name)} LOGIN NOSUPERUSER CONNECTION LIMIT {r['connection_limit']} "
                   f"PASSWORD {lit(pw)};")
        for k, v in sorted(r.get("settings", {}).items()):
            out.append(f"ALTER ROLE {ident(name)} SET {k} = {lit(v)};")
    for db in sorted({d for r in plan["roles"] for d in r["databases"]}):
        out.append(f"\\c {db}")
        for r in plan["roles"]:
            if db not in r["databases"]:
                continue
            n = ident(r["name"])
            out.append(f"GRANT CONNECT ON DATABASE {ident(db)} TO {n};")
            if r["kind"] == "owner":
                out.append(f"GRANT USAGE, CREATE ON SCHEMA app TO {n};")
                out.append(f"DO $$DECLARE t record; BEGIN FOR t IN SELECT c.relname FROM pg_class c "
                           f"JOIN pg_namespace s ON s.oid = c.relnamespace JOIN pg_roles o ON o.oid = c.relowner "
                           f"WHERE s.nspname = 'app' AND c.relkind IN ('r','p','v','m') AND o.rolsuper LOOP "
                           f"EXECUTE format('ALTER TABLE app.%I OWNER TO %I', t.relname, {lit(r['name'])}); "
                           f"END LOOP; END$$;")
        for r in plan["roles"]:
            if db not in r["databases"] or r["kind"] == "owner":
                continue
            n = ident(r["name"])
            owners = [o["name"] for o in plan["roles"] if o["kind"] == "owner" and db in o["databases"]]
            out.append(f"GRANT USAGE ON SCHEMA app TO {n};")
            privs = "SELECT" if r["kind"] == "reader" else "SELECT, INSERT, UPDATE, DELETE"
            out.append(f"GRANT {privs} ON ALL TABLES IN SCHEMA app TO {n};")
            if r["kind"] == "writer":
                out.append(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA app TO {n};")
            for o in owners:
                out.append(f"ALTER DEFAULT PRIVILEGES FOR ROLE {ident(o)} IN SCHEMA app GRANT {privs} ON TABLES TO {n};")
                if r["kind"] == "writer":
                    out.append(f"ALTER DEFAULT PRIVILEGES FOR ROLE {ident(o)} IN SCHEMA app GRANT USAGE ON SEQUENCES TO {n};")
    print("\n".join(out))


main()
