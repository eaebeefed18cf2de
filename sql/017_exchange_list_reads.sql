-- When each exchange's symbol list was last read and trusted (it deactivated what it no
-- longer lists). Before this, every read rewrote every listed asset's last_seen: 21,800 new
-- row versions and their index entries each day for nothing new. Now a list writes an
-- asset's row only when it says something new of it (a new listing, a changed name, type,
-- currency, ISIN, country or venue, a return), and a listed asset is known to be listed on
-- its exchange's read_on; its last_seen is written when it is added, changes or vanishes.
SET search_path = financial_screener, public;

CREATE TABLE exchange_list_reads (
  exchange  text PRIMARY KEY,
  read_on   date NOT NULL,
  listed    integer NOT NULL CHECK (listed >= 0)
);

INSERT INTO exchange_list_reads (exchange, read_on, listed)
SELECT exchange, max(last_seen), count(*) FILTER (WHERE is_active)
  FROM assets WHERE source = 'list' GROUP BY exchange;

COMMENT ON COLUMN assets.last_seen IS
  'The last read of its exchange''s list known to include it: written when the list adds, changes or returns it, and when it vanishes (then the read before). While it is listed, exchange_list_reads.read_on is later.';
