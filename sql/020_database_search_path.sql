-- An operator's psql finds the pipeline's views and functions without the schema prefix
-- (SELECT * FROM get_processing_progress(), as the README writes it): the database's
-- default search_path names the schema. Only its owner (or a superuser) may set it; a
-- migration role that owns neither leaves it, and says so.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
              WHERE d.datname = current_database() AND (r.rolname = current_user OR pg_has_role(current_user, r.oid, 'MEMBER')))
     OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('ALTER DATABASE %I SET search_path = financial_screener, public', current_database());
  ELSE
    RAISE NOTICE 'search_path not set for database %: the migrating role does not own it (write financial_screener. before the pipeline''s names)', current_database();
  END IF;
END
$$;
