/**
 * price_rechecks: when each exchange-day was last read again for late corrections (every
 * write to the table is here). check-quota's slower cycle reads the days read longest ago
 * (never first) among the last recheck_sessions sessions.
 */
import type { Queryable } from '../platform/db.js';

const RECORD = `
  INSERT INTO price_rechecks (exchange, date, execution_id, method, bars, corrections)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (exchange, date) DO UPDATE SET checked_at = now(), execution_id = EXCLUDED.execution_id,
    method = EXCLUDED.method, bars = EXCLUDED.bars, corrections = EXCLUDED.corrections`;

export async function recordRecheck(
  q: Queryable,
  r: {
    exchange: string;
    date: string;
    executionId: number;
    method: 'bulk' | 'ticker';
    bars: number;
    corrections: number;
  },
): Promise<void> {
  await q.query(RECORD, [r.exchange, r.date, r.executionId, r.method, r.bars, r.corrections]);
}

const LAST_CHECKED = `
  SELECT exchange, date::text AS date, checked_at FROM price_rechecks
   WHERE exchange = ANY($1::text[]) AND date >= $2::date`;

/** When each exchange-day since `since` was last read again (absent: never). */
export async function lastRechecked(q: Queryable, exchanges: string[], since: string): Promise<Map<string, Date>> {
  const rows = (await q.query<{ exchange: string; date: string; checked_at: Date }>(LAST_CHECKED, [exchanges, since]))
    .rows;
  return new Map(rows.map((r) => [`${r.exchange}:${r.date}`, r.checked_at]));
}
