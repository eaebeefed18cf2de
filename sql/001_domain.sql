-- Domain tables: what the screener reads.
CREATE SCHEMA IF NOT EXISTS financial_screener;
SET search_path = financial_screener, public;

CREATE TABLE assets (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  symbol        text NOT NULL UNIQUE,            -- CODE.EXCH as EODHD names it (BRK-B.US)
  code          text NOT NULL,
  exchange      text NOT NULL,                   -- EODHD exchange code: US, LSE, F, XETRA, PA, AS, BR, LS, MC, SW
  venue         text,                            -- the listing venue (NYSE, NASDAQ, LSE, ...)
  region        text NOT NULL CHECK (region IN ('us', 'lse', 'german', 'european')),
  name          text,
  type          text,
  currency      text,
  isin          text,                            -- not unique: the same ISIN trades on several venues
  country       text,
  sector        text,
  industry      text,
  is_active     boolean NOT NULL DEFAULT true,
  first_seen    date NOT NULL DEFAULT current_date,
  last_seen     date NOT NULL DEFAULT current_date,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (symbol = code || '.' || exchange)
);
CREATE INDEX assets_exchange_idx ON assets (exchange) WHERE is_active;
CREATE INDEX assets_region_idx ON assets (region) WHERE is_active;
CREATE INDEX assets_isin_idx ON assets (isin);

CREATE TABLE stock_prices (
  asset_id        bigint NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  date            date NOT NULL,
  open            double precision NOT NULL,
  high            double precision NOT NULL,
  low             double precision NOT NULL,
  close           double precision NOT NULL,
  adjusted_close  double precision NOT NULL,
  volume          bigint NOT NULL,
  PRIMARY KEY (asset_id, date)
);

CREATE TABLE fundamentals (
  asset_id            bigint PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
  data                jsonb NOT NULL,            -- the whole EODHD document
  fetched_at          timestamptz NOT NULL DEFAULT now(),
  source_updated_at   date,                      -- General.UpdatedAt
  market_cap          double precision,
  pe_ratio            double precision,
  forward_pe          double precision,
  peg_ratio           double precision,
  price_to_book       double precision,
  price_to_sales      double precision,
  dividend_yield      double precision,
  eps                 double precision,
  beta                double precision,
  profit_margin       double precision,
  operating_margin    double precision,
  return_on_equity    double precision,
  revenue_ttm         double precision,
  ebitda              double precision,
  shares_outstanding  double precision,
  week_52_high        double precision,
  week_52_low         double precision,
  analyst_rating      double precision,
  sector              text,
  industry            text,
  gic_sector          text,
  next_earnings_date  date
);
CREATE INDEX fundamentals_market_cap_idx ON fundamentals (market_cap);
CREATE INDEX fundamentals_sector_idx ON fundamentals (sector);

CREATE TABLE technical_indicators (
  asset_id        bigint PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
  price_date      date NOT NULL,
  bars_used       integer NOT NULL,
  calculated_at   timestamptz NOT NULL DEFAULT now(),
  sma_50 double precision, sma_200 double precision,
  ema_12 double precision, ema_26 double precision,
  wma_20 double precision,
  rsi_14 double precision,
  stoch_k double precision, stoch_d double precision, stoch_rsi double precision,
  cci_20 double precision,
  macd double precision, macd_signal double precision, macd_histogram double precision,
  dmi_plus double precision, dmi_minus double precision, adx double precision,
  atr_14 double precision,
  volatility double precision, std_dev double precision,
  bb_upper double precision, bb_middle double precision, bb_lower double precision, bb_bandwidth double precision,
  sar double precision,
  beta double precision,
  slope double precision,
  avg_volume_30 double precision, avg_volume_90 double precision,
  week_52_high double precision, week_52_low double precision,
  current_price double precision
);

-- "Every price of one day" (screens, and whether an exchange's day is published yet).
CREATE INDEX stock_prices_date_idx ON stock_prices (date);
