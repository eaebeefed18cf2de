-- The API ledger is written ahead: a request's row is inserted by the same statement that
-- reserves its cost, before the request leaves, and settled when the answer comes. A
-- process killed mid-request (or a database that went away before the answer could be
-- written) therefore leaves a row that says so, instead of no row at all.
--
-- cost is what the request counts against its day: what the API charged once the answer
-- is known; the reserved cost while it is not (sent, or no answer); the share attributed
-- to it when the API's own count (/user) settled it (reconciled). So at every moment
--   api_quota_days.reserved_calls = sum(api_calls.cost) of the day
-- (the counter and the ledger are changed by the same statements).
SET search_path = financial_screener, public;

ALTER TABLE api_calls
  ADD COLUMN reserved     integer NOT NULL DEFAULT 0,
  ADD COLUMN outcome      text NOT NULL DEFAULT 'answered'
    CHECK (outcome IN ('sent', 'answered', 'not_sent', 'no_answer', 'reconciled')),
  -- Past this moment the request is certainly over (the client aborts it before), so a
  -- row still 'sent' or 'no_answer' can be settled against the API's count.
  ADD COLUMN deadline_at  timestamptz,
  ADD COLUMN settled_at   timestamptz;

-- Rows written before this migration were recorded after their answer.
UPDATE api_calls SET reserved = cost, settled_at = created_at;

COMMENT ON COLUMN api_calls.cost IS 'calls counted against the day: charged (answered), reserved (sent, no_answer), attributed (reconciled)';
COMMENT ON COLUMN api_calls.outcome IS 'sent: no answer recorded yet; answered: the API answered (cost = charged); not_sent: no connection was made (cost 0); no_answer: sent, nothing came back in time; reconciled: settled against /user';

CREATE INDEX api_calls_uncertain_idx ON api_calls (quota_day, id) WHERE outcome IN ('sent', 'no_answer');
