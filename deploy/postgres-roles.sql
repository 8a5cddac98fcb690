-- PostgreSQL for the clearsite central server: an owner role that runs migrations and owns the schema,
-- and an application role with least privilege (the one in CLEARSITE_DATABASE_URL for `clearsite serve`).
-- 1. As a superuser, once:  sudo -u postgres psql -v ON_ERROR_STOP=1 -f deploy/postgres-roles.sql
-- 2. Migrate as the owner (README: Running a central server).
-- 3. As the owner, after every migration:  psql -v ON_ERROR_STOP=1 -U clearsite_owner -d clearsite -f deploy/postgres-grants.sql
-- Passwords are asked for interactively with \password; nothing secret is written in this file.

CREATE ROLE clearsite_owner LOGIN;
CREATE ROLE clearsite_app LOGIN CONNECTION LIMIT 200;  -- workers x (pool size + overflow) + CLI, see clearsite.env
\password clearsite_owner
\password clearsite_app

-- One database, owned by the owner role; nobody else may create objects in it.
CREATE DATABASE clearsite OWNER clearsite_owner ENCODING 'UTF8' TEMPLATE template0;
\connect clearsite
REVOKE ALL ON DATABASE clearsite FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE clearsite TO clearsite_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO clearsite_owner;
