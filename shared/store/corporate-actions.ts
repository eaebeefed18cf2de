/**
 * Splits and dividends. EODHD recomputes adjusted_close over the whole history at each
 * corporate action, so a stored series goes stale at every ex-date. Instead of the bulk
 * splits/dividends answers (100 calls per exchange per day each), the calendars cost one
 * call a day for all exchanges: every day since the last check is read, the actions are
 * kept, and each asset with stored bars before an ex-date is flagged for an
 * adjustment_refresh (its whole history again, 1 call).
 *
 * A plan without the calendars (EOD-only plans) falls back to the bulk answers, for the
 * last few weekdays only; a plan with neither leaves corporate actions unread, and says so.
 */

import { addDays } from '../domain/dates.js';
import { API_COST, type EodhdClient, EodhdError } from '../eodhd/client.js';
import type { Queryable } from '../platform/db.js';
import { flagForAdjustment } from './asset-state.js';
import { normaliseCode } from './universe.js';

/** The most days read in one run; a longer gap starts from the newest ones. */
const MAX_DAYS = 31;
/** The most days read from the bulk answers in one run (100 calls per exchange, day and kind). */
const MAX_BULK_DAYS = 3;

const LAST_CHECKED = `SELECT max(day)::text AS day FROM corporate_action_days`;

const STORE_ACTIONS = `
  INSERT INTO corporate_actions (symbol, date, kind, detail, execution_id)
  SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::bigint[])
  ON CONFLICT (symbol, date, kind) DO NOTHING`;

const STORE_DAYS = `
  INSERT INTO corporate_action_days (day, splits, dividends, execution_id, source)
  SELECT d, coalesce(sp.n, 0), coalesce(dv.n, 0), $2, $3 FROM unnest($1::date[]) d
    LEFT JOIN (SELECT date, count(*)::int AS n FROM corporate_actions WHERE kind = 'split' GROUP BY date) sp ON sp.date = d
    LEFT JOIN (SELECT date, count(*)::int AS n FROM corporate_actions WHERE kind = 'dividend' GROUP BY date) dv ON dv.date = d
  ON CONFLICT (day) DO NOTHING`;

export interface CorporateActionSync {
  days: string[];
  splits: number;
  dividends: number;
  assetsFlagged: number;
  /** Where the actions came from; null when they were not read (and `skipped` says why). */
  source: 'calendar' | 'bulk' | null;
  skipped?: string;
}

export interface CorporateActionSources {
  /** Whether the plan serves the calendars ('probe': not so far; ask once today). */
  calendar: 'yes' | 'probe' | 'no';
  bulk: 'yes' | 'probe' | 'no';
  /** The exchanges the run covers (the bulk answers are per exchange). */
  exchanges: readonly string[];
  /** Calls left today: the bulk answers (200 calls an exchange and day) are read only when they take at most a tenth of it. */
  budget: number;
}

/** Reads the calendars (or, without them, the bulk answers) for every day after the last one read, through `today` (the quota day: today in UTC by the API's clock). */
export async function syncCorporateActions(
  q: Queryable,
  api: EodhdClient,
  executionId: number,
  today: string,
  sources: CorporateActionSources,
): Promise<CorporateActionSync> {
  const last = (await q.query<{ day: string | null }>(LAST_CHECKED)).rows[0]?.day ?? null;
  let from = last ? addDays(last, 1) : today;
  if (from < addDays(today, -(MAX_DAYS - 1))) from = addDays(today, -(MAX_DAYS - 1));
  const days: string[] = [];
  for (let d = from; d <= today; d = addDays(d, 1)) days.push(d);
  if (days.length === 0) return { days, splits: 0, dividends: 0, assetsFlagged: 0, source: null };

  let rows: Array<{ symbol: string; date: string; kind: 'split' | 'dividend'; detail: string | null }> | null = null;
  let source: 'calendar' | 'bulk' | null = null;
  let read = days;
  if (sources.calendar !== 'no') {
    try {
      rows = await fromCalendars(api, days);
      source = 'calendar';
    } catch (err) {
      if (!(err instanceof EodhdError && err.kind === 'not_in_plan')) throw err;
    }
  }
  let skipped =
    'the plan includes neither the calendars nor the bulk splits and dividends: adjusted prices may go stale';
  if (!rows && sources.bulk === 'yes') {
    read = days.filter((d) => ![0, 6].includes(new Date(`${d}T00:00:00Z`).getUTCDay())).slice(-MAX_BULK_DAYS);
    const cost = read.length * sources.exchanges.length * 2 * API_COST.bulk;
    if (cost <= sources.budget / 10) {
      rows = await fromBulk(api, read, sources.exchanges);
      source = 'bulk';
    } else {
      skipped = `the calendars are not in the plan and the bulk splits and dividends (${cost} calls) would take more than a tenth of today's ${sources.budget}: adjusted prices may go stale`;
    }
  }
  if (!rows) return { days: [], splits: 0, dividends: 0, assetsFlagged: 0, source: null, skipped };
  await q.query(STORE_ACTIONS, [
    rows.map((r) => r.symbol),
    rows.map((r) => r.date),
    rows.map((r) => r.kind),
    rows.map((r) => r.detail),
    rows.map(() => executionId),
  ]);
  const flagged = await flagForAdjustment(q, read);
  // Days the bulk answers did not cover (weekends, older days) count as read: nothing to do there.
  await q.query(STORE_DAYS, [days, executionId, source]);
  const splits = rows.filter((r) => r.kind === 'split').length;
  return { days: read, splits, dividends: rows.length - splits, assetsFlagged: flagged, source };
}

async function fromCalendars(api: EodhdClient, days: string[]) {
  const splits = (await api.calendarSplits(days[0]!, days[days.length - 1]!)).filter((s) => days.includes(s.date));
  const dividends: Array<{ symbol: string; date: string }> = [];
  for (const d of days) dividends.push(...(await api.calendarDividends(d)));
  return [
    ...splits.map((s) => ({ symbol: s.symbol, date: s.date, kind: 'split' as const, detail: s.detail })),
    ...dividends.map((d) => ({ symbol: d.symbol, date: d.date, kind: 'dividend' as const, detail: null })),
  ];
}

async function fromBulk(api: EodhdClient, days: string[], exchanges: readonly string[]) {
  const out: Array<{ symbol: string; date: string; kind: 'split' | 'dividend'; detail: string | null }> = [];
  for (const day of days) {
    for (const ex of exchanges) {
      for (const type of ['splits', 'dividends'] as const) {
        for (const r of await api.bulkCorporateActions(ex, type, day)) {
          if (r.date !== day) continue;
          out.push({
            symbol: `${normaliseCode(r.code)}.${ex}`,
            date: r.date,
            kind: type === 'splits' ? 'split' : 'dividend',
            detail: r.detail,
          });
        }
      }
    }
  }
  return out;
}
