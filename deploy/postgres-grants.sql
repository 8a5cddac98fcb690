-- The clearsite application role's privileges. Run as clearsite_owner after every migration (it is
-- idempotent):  psql -v ON_ERROR_STOP=1 -h 127.0.0.1 -U clearsite_owner -d clearsite -f deploy/postgres-grants.sql
--
-- The application role may read and write every table except the audit log, which it may only read and
-- append to: no UPDATE, DELETE or TRUNCATE, and the append-only triggers belong to the owner, so a
-- compromised server cannot drop them or cut the log. These are the statements
-- clearsite.store.pg_roles.least_privilege_sql gives.
GRANT USAGE ON SCHEMA public TO clearsite_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO clearsite_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM clearsite_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO clearsite_app;
ALTER DEFAULT PRIVILEGES FOR ROLE clearsite_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO clearsite_app;
ALTER DEFAULT PRIVILEGES FOR ROLE clearsite_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO clearsite_app;
