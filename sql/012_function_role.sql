-- Least privilege. Whoever applies these migrations owns the schema (on the cluster the
-- screener_migrate login, k8s/postgres.yaml). The functions log in as a member of
-- screener_functions, which may read and write rows and call the schema's functions, and
-- nothing else: no DDL, no TRUNCATE, no owner rights, so a function cannot drop a table or
-- change the schema, and without superuser it cannot run COPY ... PROGRAM.
--
-- The role is created here when the migrating role may create roles (CREATEROLE); on a
-- managed server where it may not, create it first (CREATE ROLE screener_functions
-- NOLOGIN) and run this again. Roles belong to the whole server: two databases on one
-- server share it (as the tests' databases do), hence the tolerant create.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'screener_functions') THEN
    BEGIN
      CREATE ROLE screener_functions NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL; -- created at the same moment elsewhere
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'cannot create role screener_functions: create it (NOLOGIN) and apply this migration again';
    END;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'screener_functions') THEN
    GRANT USAGE ON SCHEMA financial_screener TO screener_functions;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA financial_screener TO screener_functions;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA financial_screener TO screener_functions;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA financial_screener TO screener_functions;
    -- Tables, sequences and functions later migrations create get the same grants.
    ALTER DEFAULT PRIVILEGES IN SCHEMA financial_screener
      GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO screener_functions;
    ALTER DEFAULT PRIVILEGES IN SCHEMA financial_screener GRANT USAGE, SELECT ON SEQUENCES TO screener_functions;
    ALTER DEFAULT PRIVILEGES IN SCHEMA financial_screener GRANT EXECUTE ON FUNCTIONS TO screener_functions;
    -- The health check reads which migrations are applied.
    GRANT SELECT ON public.schema_migrations TO screener_functions;
  END IF;
END $$;
