-- v_screener gains what the history brought (023-026): the latest session's derived figures
-- (returns, relative volume, 52-week distances, gap, traded value), beta against the
-- exchange's benchmark beside EODHD's own, money in the reporting currency beside the native
-- one, and growth from the reported yearly figures. Benchmark indices are reference series,
-- not listings: they are left out.
--
-- Dropped and created again rather than replaced: `beta` now means the computed beta (the
-- indicator column of the same name) and EODHD's 5-year monthly one is `beta_eodhd`; a
-- replaced view can only add columns at its end.
SET search_path = financial_screener, public;

DROP VIEW v_screener;

CREATE VIEW v_screener AS
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
       f.dividend_yield, f.payout_ratio, f.eps,
       t.beta,
       f.beta AS beta_eodhd,
       f.profit_margin, f.return_on_equity,
       f.expense_ratio, f.fund_yield, f.net_assets,
       t.rsi_14, t.sma_50, t.sma_200,
       t.sma_50 / coalesce(pu.per_major, 1) AS sma_50_major, t.sma_200 / coalesce(pu.per_major, 1) AS sma_200_major,
       f.fetched_at AS fundamentals_fetched_at,
       coalesce(q.bars, 0) AS quarantined_bars,
       CASE WHEN coalesce(q.bars, 0) > 0 THEN 'quarantined' ELSE 'ok' END AS data_quality,
       -- The latest session's derived figures (indicator_history; docs/screener-columns.md).
       h.date AS figures_date,
       h.change_1d_pct, h.change_5d_pct, h.change_1m_pct, h.change_3m_pct, h.change_6m_pct,
       h.change_12m_pct, h.change_ytd_pct, h.relative_volume, h.pct_from_52w_high, h.pct_from_52w_low,
       h.pct_vs_sma_50, h.pct_vs_sma_200, h.gap_pct,
       h.avg_traded_value_30 / coalesce(pu.per_major, 1) AS avg_traded_value_30,
       -- The reporting currency (setting reporting_currency) at the rate of the last price's
       -- day (fx_rate: the latest on or before it; NULL while no rate is stored).
       rep.code AS reporting_currency,
       f.market_cap * fx_rate(coalesce(fu.major, f.currency), lp.date) AS market_cap_reporting,
       h.avg_traded_value_30 * fx_rate(coalesce(s.prices_currency, a.currency), h.date) AS avg_traded_value_30_reporting,
       lp.close * fx_rate(coalesce(s.prices_currency, a.currency), lp.date) AS last_close_reporting,
       -- Growth from the yearly reports public today (fundamental_growth_as_of).
       g.revenue_growth_1y, g.revenue_growth_3y, g.revenue_growth_5y,
       g.net_income_growth_1y, g.net_income_growth_3y, g.net_income_growth_5y,
       g.eps_growth_1y, g.eps_growth_3y, g.eps_growth_5y
FROM assets a
CROSS JOIN (SELECT coalesce((SELECT value #>> '{}' FROM pipeline_settings WHERE key = 'reporting_currency'), 'USD') AS code) rep
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
LEFT JOIN indicator_history h ON h.asset_id = a.id AND h.date = t.price_date
LEFT JOIN fundamental_growth_as_of(CURRENT_DATE) g ON g.asset_id = a.id
WHERE a.is_active AND a.source <> 'benchmark';

COMMENT ON VIEW v_screener IS
  'one row per listed asset: its last good price, latest indicators and derived figures, fundamentals, growth, and money in the reporting currency (docs/screener-columns.md)';

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'screener_functions') THEN
    GRANT SELECT ON v_screener TO screener_functions;
  END IF;
END $$;
