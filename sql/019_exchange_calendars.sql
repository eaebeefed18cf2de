-- Each exchange's calendar, and each run's trading day per exchange.
--
-- A run took its day from EODHD's usage counter, which stays on the last day anything was
-- asked until the first request after midnight GMT: every scheduled run believed it was
-- still yesterday. Days now come from the clock (the API's Date header) and the calendar of
-- each exchange: its time zone, its close, its working days and its holidays, read from
-- /exchange-details when the plan has it (refreshed monthly), else learnt from an empty
-- bulk day, else weekdays. exchange-calendars.ts owns both tables.
SET search_path = financial_screener, public;

CREATE TABLE exchange_calendars (
  exchange       text PRIMARY KEY,
  time_zone      text NOT NULL,
  close_local    text NOT NULL CHECK (close_local ~ '^[0-2][0-9]:[0-5][0-9]$'),
  working_days   smallint[] NOT NULL CHECK (cardinality(working_days) BETWEEN 1 AND 7),
  -- The range of days the read's holidays cover: within it, the API's word is the calendar.
  holidays_from  date NOT NULL,
  holidays_to    date NOT NULL CHECK (holidays_to >= holidays_from),
  read_on        date NOT NULL,
  read_at        timestamptz NOT NULL DEFAULT now()
);

-- official: closed (the API said so); learnt: closed (its bulk day came back empty on a
-- weekday, outside any range the API described); bank, early_close: sessions all the same,
-- kept because an operator asks why a day looks thin.
CREATE TABLE exchange_holidays (
  exchange     text NOT NULL,
  day          date NOT NULL,
  name         text,
  kind         text NOT NULL CHECK (kind IN ('official', 'learnt', 'bank', 'early_close')),
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (exchange, day)
);

ALTER TABLE process_executions ADD COLUMN as_of_by_exchange jsonb;
COMMENT ON COLUMN process_executions.as_of_by_exchange IS
  'The session each exchange''s prices are brought up to: the last one EODHD had published when the run decided its day (or the last session on or before an explicit asOf). as_of is the latest of them.';

ALTER TABLE api_entitlements DROP CONSTRAINT api_entitlements_kind_check;
ALTER TABLE api_entitlements ADD CONSTRAINT api_entitlements_kind_check
  CHECK (kind IN ('eod', 'bulk', 'fundamentals', 'calendar', 'symbol_list', 'exchange_details'));

CREATE OR REPLACE VIEW v_api_plan AS
SELECT e.kind, e.status, e.source, e.since, e.checked_on, e.detail,
       p.subscription_type, p.subscription_mode, p.daily_rate_limit, p.extra_limit, p.quota_day AS plan_read_on,
       CASE e.kind
         WHEN 'eod' THEN 'prices (per-ticker history)'
         WHEN 'bulk' THEN 'one-call-per-exchange daily prices (falls back to one call per ticker)'
         WHEN 'fundamentals' THEN 'fundamentals'
         WHEN 'calendar' THEN 'split and dividend calendars (falls back to the bulk splits and dividends, else adjusted prices may go stale)'
         WHEN 'symbol_list' THEN 'the exchanges'' symbol lists (new listings and delistings)'
         WHEN 'exchange_details' THEN 'exchange holidays and hours (falls back to holidays learnt from empty bulk days, else weekdays)'
       END AS what
FROM api_entitlements e LEFT JOIN api_plan p ON true
ORDER BY e.kind;

-- The calendar an operator reads: each exchange's hours and where they came from, and its
-- closed days ahead and behind.
CREATE VIEW v_exchange_calendar AS
SELECT h.exchange, h.day, h.name, h.kind, h.kind IN ('official', 'learnt') AS closed,
       c.time_zone, c.close_local, c.read_on AS calendar_read_on
  FROM exchange_holidays h LEFT JOIN exchange_calendars c USING (exchange)
 ORDER BY h.exchange, h.day;

INSERT INTO pipeline_settings (key, value, description) VALUES
  ('exchange_calendar_refresh_days', '30', 'days an exchange''s calendar (/exchange-details, 5 calls an exchange) is kept before it is read again')
ON CONFLICT (key) DO NOTHING;
