-- The schema's functions find its tables whatever the caller's search_path: an operator in
-- psql calls financial_screener.reset_ticker_for_reprocessing(...) without setting one.
ALTER FUNCTION financial_screener.reset_ticker_for_reprocessing(text, text) SET search_path = financial_screener, public;
ALTER FUNCTION financial_screener.get_processing_progress() SET search_path = financial_screener, public;
