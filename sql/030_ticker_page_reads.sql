-- The ticker page (served by the screen function, as its read-only login: sql/029) reads a
-- listing's bars, corporate actions, fundamentals (the latest and every version as known),
-- its processing state and its audit trail. Reading is open, as the status page is; writing
-- stays the status function's (its reset button), behind the operator credential. Views
-- run with their owner's rights: the readers get the views, not the tables beneath them
-- (asset_processing_details, process_executions, fundamentals_versions stay closed).
SET search_path = financial_screener, public;

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'screener_readers') THEN
    GRANT SELECT ON stock_prices, corporate_actions, fundamentals, asset_processing_state,
      v_fundamentals_as_known, v_ticker_processing_history TO screener_readers;
  END IF;
END $$;
