-- The operator's view of the API budget, a row per quota day: what the API counted at the
-- last reconciliation, our counter, the ledger and what it is made of (known, still
-- unknown, settled against the API's count), and what is left of quota - buffer.
SET search_path = financial_screener, public;

CREATE VIEW v_api_quota_days AS
SELECT d.quota_day,
       d.api_reported,
       d.reconciled_at,
       d.reserved_calls + d.external_calls AS used,
       d.external_calls,
       l.ledger_calls,
       d.reserved_calls = coalesce(l.ledger_calls, 0) AS counter_equals_ledger,
       l.requests,
       l.answered_calls,
       l.unknown_requests,
       l.unknown_calls,
       l.reconciled_requests,
       l.reconciled_calls,
       l.failed_requests,
       greatest(0, (SELECT (value #>> '{}')::int FROM pipeline_settings WHERE key = 'eodhd_daily_quota')
                 - (SELECT (value #>> '{}')::int FROM pipeline_settings WHERE key = 'eodhd_quota_buffer')
                 - d.reserved_calls - d.external_calls) AS calls_left
FROM api_quota_days d
LEFT JOIN LATERAL (
  SELECT sum(c.cost)::int AS ledger_calls,
         count(*)::int AS requests,
         coalesce(sum(c.cost) FILTER (WHERE c.outcome IN ('answered', 'not_sent')), 0)::int AS answered_calls,
         count(*) FILTER (WHERE c.outcome IN ('sent', 'no_answer'))::int AS unknown_requests,
         coalesce(sum(c.cost) FILTER (WHERE c.outcome IN ('sent', 'no_answer')), 0)::int AS unknown_calls,
         count(*) FILTER (WHERE c.outcome = 'reconciled')::int AS reconciled_requests,
         coalesce(sum(c.cost) FILTER (WHERE c.outcome = 'reconciled'), 0)::int AS reconciled_calls,
         count(*) FILTER (WHERE c.error IS NOT NULL)::int AS failed_requests
    FROM api_calls c WHERE c.quota_day = d.quota_day
) l ON true
ORDER BY d.quota_day DESC;
