-- The universe as it was: which listings were listed on a given day.
--
-- A listing that vanishes from its exchange's list keeps its row; it now also keeps when it
-- was listed (listed_from) and when it stopped (delisted_on, and where that came from), so
-- that "who was listed on day D" is one query (universe_on). EODHD's delisted lists
-- (exchange-symbol-list/{EX}?delisted=1, 1 call each, read monthly) add the names delisted
-- before the pipeline started: source 'delisted_list', never active, never priced, and
-- confirm the delistings the pipeline saw itself. universe.ts owns both tables.
--
-- A listing that comes back (a glitch in a list, a suspension lifted) is active again and
-- its delisting is forgotten: one listing period, the gap included, since a gap of days in a
-- list says nothing certain about the days in between.
SET search_path = financial_screener, public;

-- Another migration may set the same list first: drop whichever constraint is there.
ALTER TABLE assets DROP CONSTRAINT IF EXISTS assets_source_check;
ALTER TABLE assets ADD CONSTRAINT assets_source_check
  CHECK (source = ANY (ARRAY['list', 'watchlist', 'benchmark', 'delisted_list']));

ALTER TABLE assets
  ADD COLUMN listed_from           date,
  ADD COLUMN delisted_on           date,
  ADD COLUMN delisted_source       text CHECK (delisted_source IN ('vanished', 'delisted_list')),
  ADD COLUMN delisted_confirmed_on date,
  -- A date says where it came from; a delisting EODHD names without a date has none.
  ADD CONSTRAINT assets_delisted_check CHECK (delisted_on IS NULL OR delisted_source IS NOT NULL);

COMMENT ON COLUMN assets.listed_from IS
  'The earliest day it is known listed: its first list read, or its first stored price when earlier (refreshed by each sync); null: not known (a name only EODHD''s delisted list gives)';
COMMENT ON COLUMN assets.delisted_on IS
  'The first day it was no longer listed: the day after it was last seen when it vanished from its list; null while listed, or when EODHD''s delisted list names it without a date';
COMMENT ON COLUMN assets.delisted_source IS
  'vanished: the pipeline saw it leave its list (delisted_on is the day after last_seen); delisted_list: only EODHD''s delisted list names it (no date). Null: not delisted';
COMMENT ON COLUMN assets.delisted_confirmed_on IS
  'The read of EODHD''s delisted list (exchange-symbol-list?delisted=1) that named it delisted';

-- Listings the pipeline already saw vanish: the day after they were last seen.
UPDATE assets SET delisted_on = last_seen + 1, delisted_source = 'vanished'
 WHERE NOT is_active AND source = 'list';

UPDATE assets a SET listed_from = least(a.first_seen, s.prices_first_date)
  FROM asset_processing_state s WHERE s.asset_id = a.id;
UPDATE assets SET listed_from = first_seen WHERE listed_from IS NULL;

-- universe_on reads the listings started by D and not ended by it: an index-only range
-- scan on listed_from (for a day long ago, few rows qualify) instead of reading every row.
CREATE INDEX assets_listed_from_idx ON assets (listed_from) INCLUDE (delisted_on, delisted_source, source, symbol);

-- When EODHD's delisted list of each exchange was last read: the monthly cadence survives
-- restarts, and a dry run (which reads nothing) leaves it alone.
CREATE TABLE delisted_list_reads (
  exchange   text PRIMARY KEY,
  read_on    date NOT NULL,
  listed     integer NOT NULL CHECK (listed >= 0),
  added      integer NOT NULL CHECK (added >= 0),
  confirmed  integer NOT NULL CHECK (confirmed >= 0)
);

-- The listings listed on day d: started on or before it (listed_from), not delisted by it.
-- A delisting without a date (only EODHD's list names it) is in no day's universe: when it
-- traded is not known. Benchmarks are reference series, not listings of the universe.
CREATE FUNCTION universe_on(d date)
RETURNS TABLE (asset_id bigint, symbol text, exchange text, listed_from date, delisted_on date)
LANGUAGE sql STABLE SET search_path = financial_screener, public AS $$
  SELECT a.id, a.symbol, a.exchange, a.listed_from, a.delisted_on
    FROM assets a
   WHERE a.listed_from <= d
     AND (a.delisted_source IS NULL OR a.delisted_on > d)
     AND a.source <> 'benchmark'
$$;

COMMENT ON FUNCTION universe_on(date) IS
  'The listings listed on day d (a company delisted later is in it; one listed later is not)';

INSERT INTO pipeline_settings (key, value, description) VALUES
  ('delisted_lists_refresh_days', '30', 'days between two reads of an exchange''s delisted list (exchange-symbol-list?delisted=1, 1 call an exchange); 0: never read')
ON CONFLICT (key) DO NOTHING;
