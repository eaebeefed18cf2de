-- Data a screener can trust: every new or changed bar is checked, what looks wrong is
-- recorded as a finding (an error quarantines its bar: indicators and screens leave it
-- out), and published sessions are read again to pick up EODHD's late corrections.

-- The quality checks' queue: assets with bars written or changed since they were last
-- checked, from their earliest such date. Written with the bars (store/prices.ts), emptied
-- by the checks.
CREATE TABLE prices_to_check (
  asset_id   bigint PRIMARY KEY,
  from_date  date NOT NULL,
  queued_at  timestamptz NOT NULL DEFAULT now()
);

-- One record of findings (store/quality-findings.ts): one row per asset, day and check.
--   open       found, not yet settled; an error quarantines the bar
--   confirmed  an operator says the bar is real (a genuine crash): it is used again
--   cleared    the API answered otherwise (a re-ask or a re-read replaced the bar) or the
--              bar changed and no longer fails the check
--   resolved   an operator dropped the bar
CREATE TABLE price_quality_findings (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  asset_id           bigint NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  date               date NOT NULL,
  check_name         text NOT NULL CHECK (check_name IN (
                       'ohlc_order', 'non_positive', 'unit_slip', 'price_move', 'volume_spike',
                       'zero_volume', 'stale_series', 'missing_session', 'adjusted_close', 'market_cap')),
  severity           text NOT NULL CHECK (severity IN ('error', 'warning')),
  detail             text NOT NULL,
  status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'cleared', 'resolved')),
  found_at           timestamptz NOT NULL DEFAULT now(),
  execution_id       bigint,
  -- When the API was asked for the bar once more (an error is asked once).
  reasked_at         timestamptz,
  status_changed_at  timestamptz,
  status_note        text,
  UNIQUE (asset_id, date, check_name)
);
-- The quarantined bars: what indicators and screens look up for every asset.
CREATE INDEX price_quality_findings_quarantine_idx ON price_quality_findings (asset_id, date)
  WHERE status = 'open' AND severity = 'error';
CREATE INDEX price_quality_findings_unsettled_idx ON price_quality_findings (status, check_name)
  WHERE status IN ('open', 'confirmed');

-- Bars the API answered differently when asked again (store/price-corrections.ts): the
-- old values (NULL: the bar was not stored, a late bar) and the new ones, when seen.
CREATE TABLE price_corrections (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  asset_id        bigint NOT NULL,
  date            date NOT NULL,
  seen_at         timestamptz NOT NULL DEFAULT now(),
  execution_id    bigint,
  source          text NOT NULL CHECK (source IN ('recheck', 'reask')),
  old_open        double precision,
  old_high        double precision,
  old_low         double precision,
  old_close       double precision,
  old_volume      double precision,
  new_open        double precision NOT NULL,
  new_high        double precision NOT NULL,
  new_low         double precision NOT NULL,
  new_close       double precision NOT NULL,
  new_volume      double precision NOT NULL
);
CREATE INDEX price_corrections_asset_idx ON price_corrections (asset_id, date);
CREATE INDEX price_corrections_execution_idx ON price_corrections (execution_id);

-- When each exchange-day was last read again (store/price-rechecks.ts): the slower cycle
-- reads the days read longest ago first.
CREATE TABLE price_rechecks (
  exchange      text NOT NULL,
  date          date NOT NULL,
  checked_at    timestamptz NOT NULL DEFAULT now(),
  execution_id  bigint,
  method        text NOT NULL CHECK (method IN ('bulk', 'ticker')),
  bars          integer NOT NULL,
  corrections   integer NOT NULL,
  PRIMARY KEY (exchange, date)
);

-- The run's plan for an exchange gets its re-reads: the days, and how (one bulk answer a
-- day, or one call a ticker covering them all).
ALTER TABLE price_plans
  ALTER COLUMN covers_from DROP NOT NULL,
  ADD COLUMN recheck_dates date[] NOT NULL DEFAULT '{}',
  ADD COLUMN recheck_method text CHECK (recheck_method IN ('bulk', 'ticker'));

-- The run's calls for asking quarantined bars once more (what check-quota left of
-- recheck_calls_per_day), taken one at a time; and the run's totals.
ALTER TABLE process_executions
  ADD COLUMN reask_allowed integer NOT NULL DEFAULT 0,
  ADD COLUMN reask_used integer NOT NULL DEFAULT 0,
  ADD COLUMN price_corrections integer NOT NULL DEFAULT 0,
  ADD COLUMN quality_errors integer NOT NULL DEFAULT 0,
  ADD COLUMN quality_warnings integer NOT NULL DEFAULT 0;

INSERT INTO pipeline_settings (key, value, description) VALUES
  ('recheck_calls_per_day', '1500', 'API calls a day for reading published sessions again (late corrections) and asking quarantined bars once more; spent after prices, histories and fundamentals'),
  ('recheck_sessions', '20', 'how many sessions back the slower cycle reads again'),
  ('recheck_slow_days_per_day', '3', 'exchange-days of the slower cycle read again each day, beyond each exchange''s previous session'),
  ('quality_move_error_pct', '50', 'a one-day move of this many percent or more that no split, dividend or currency switch explains is an error: the bar is quarantined'),
  ('quality_move_sigmas', '10', 'a one-day move beyond this many of the asset''s own daily volatility (robust, its last 60 sessions) is a warning'),
  ('quality_unit_slip_pct', '12', 'a close 100 times (or a hundredth of) the previous one, within this many percent, is a wrong-unit day (an error)'),
  ('quality_volume_spike_ratio', '50', 'a volume over this multiple of the asset''s median of its last 60 sessions is a warning'),
  ('quality_stale_sessions', '10', 'the same bar (prices and a non-zero volume) this many sessions running is a stale series (a warning)'),
  ('quality_adjusted_tolerance_pct', '0.5', 'adjusted_close may move against close by this many percent on a day without a split or dividend'),
  ('quality_market_cap_tolerance_pct', '50', 'a market cap that differs from close x shares outstanding by more than this many percent is a warning'),
  ('quality_quarantine_alert_pct', '1', 'npm run health fails when an exchange has more than this many percent of its priced assets quarantined')
ON CONFLICT (key) DO NOTHING;

-- The open and confirmed findings, for people.
CREATE VIEW v_data_quality AS
SELECT a.symbol, f.date, f.check_name AS "check", f.severity, f.status, f.detail,
       a.exchange, f.found_at, f.reasked_at, f.status_note, f.asset_id, f.id AS finding_id
FROM price_quality_findings f
JOIN assets a ON a.id = f.asset_id
WHERE f.status IN ('open', 'confirmed');

-- Each exchange's priced assets with a quarantined bar: what npm run health compares with
-- quality_quarantine_alert_pct.
CREATE VIEW v_quarantine_by_exchange AS
SELECT a.exchange, count(*)::int AS priced,
       count(*) FILTER (WHERE q.asset_id IS NOT NULL)::int AS quarantined,
       round(100.0 * count(*) FILTER (WHERE q.asset_id IS NOT NULL) / count(*), 2) AS pct
FROM assets a
JOIN asset_processing_state s ON s.asset_id = a.id
LEFT JOIN (SELECT DISTINCT asset_id FROM price_quality_findings WHERE status = 'open' AND severity = 'error') q
       ON q.asset_id = a.id
WHERE a.is_active AND s.prices_loaded
GROUP BY a.exchange;

-- The bars the API answered differently when asked again.
CREATE VIEW v_price_corrections AS
SELECT a.symbol, c.date, c.seen_at, c.source, c.execution_id,
       c.old_open, c.old_high, c.old_low, c.old_close, c.old_volume,
       c.new_open, c.new_high, c.new_low, c.new_close, c.new_volume,
       CASE WHEN c.old_close IS NULL THEN 'late bar'
            ELSE concat_ws(', ',
              CASE WHEN c.old_close IS DISTINCT FROM c.new_close THEN 'close' END,
              CASE WHEN c.old_volume IS DISTINCT FROM c.new_volume THEN 'volume' END,
              CASE WHEN (c.old_open, c.old_high, c.old_low) IS DISTINCT FROM (c.new_open, c.new_high, c.new_low) THEN 'open/high/low' END)
       END AS changed,
       a.exchange, c.asset_id
FROM price_corrections c
JOIN assets a ON a.id = c.asset_id;

-- The screener leaves quarantined bars out (its last price is the last good one) and says
-- how many an asset has.
CREATE OR REPLACE VIEW v_screener AS
SELECT a.id AS asset_id, a.symbol, a.exchange, a.name, coalesce(f.instrument_type, a.type) AS instrument_type,
       f.sector, f.industry, f.gic_sector, f.gic_industry,
       coalesce(s.prices_currency, a.currency) AS quote_currency,
       coalesce(pu.major, coalesce(s.prices_currency, a.currency)) AS currency,
       lp.date AS last_date,
       lp.close / coalesce(pu.per_major, 1) AS last_close,
       lp.volume AS last_volume,
       -- EODHD's money fields are in the major unit of the document's currency
       f.market_cap,
       coalesce(fu.major, f.currency) AS market_cap_currency,
       f.pe_ratio, f.forward_pe, f.peg_ratio, f.price_to_book, f.price_to_sales, f.ev_to_ebitda,
       f.dividend_yield, f.payout_ratio, f.eps, f.beta, f.profit_margin, f.return_on_equity,
       f.expense_ratio, f.fund_yield, f.net_assets,
       t.rsi_14, t.sma_50, t.sma_200,
       t.sma_50 / coalesce(pu.per_major, 1) AS sma_50_major, t.sma_200 / coalesce(pu.per_major, 1) AS sma_200_major,
       f.fetched_at AS fundamentals_fetched_at,
       coalesce(q.bars, 0) AS quarantined_bars,
       CASE WHEN coalesce(q.bars, 0) > 0 THEN 'quarantined' ELSE 'ok' END AS data_quality
FROM assets a
LEFT JOIN asset_processing_state s ON s.asset_id = a.id
LEFT JOIN currency_units pu ON pu.code = coalesce(s.prices_currency, a.currency)
LEFT JOIN LATERAL (SELECT count(*)::int AS bars, array_agg(qf.date) AS dates
                     FROM price_quality_findings qf
                    WHERE qf.asset_id = a.id AND qf.status = 'open' AND qf.severity = 'error') q ON true
LEFT JOIN LATERAL (SELECT p.date, p.close, p.volume FROM stock_prices p
                    WHERE p.asset_id = a.id AND (q.dates IS NULL OR p.date <> ALL (q.dates))
                    ORDER BY p.date DESC LIMIT 1) lp ON true
LEFT JOIN fundamentals f ON f.asset_id = a.id
LEFT JOIN currency_units fu ON fu.code = f.currency
LEFT JOIN technical_indicators t ON t.asset_id = a.id
WHERE a.is_active;
