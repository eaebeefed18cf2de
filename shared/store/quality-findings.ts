/**
 * price_quality_findings: the one record of what the quality checks found (every write to
 * the table is here). One row per asset, day and check; its status says where it stands:
 * open (an error quarantines its bar), confirmed by an operator (a genuine crash: used
 * again), cleared (the API answered otherwise, or the bar changed and passes), resolved
 * (an operator dropped the bar).
 */
import type { Finding } from '../domain/quality.js';
import type { Queryable } from '../platform/db.js';
import { rowsWritten } from '../platform/metrics.js';

/**
 * Records the findings of one check pass over assets' bars from their judged dates. A new
 * finding opens; one already open keeps its row (and its re-ask); one confirmed stays
 * confirmed; one cleared or resolved opens again (the bar is wrong again). Findings open on
 * a judged day that this pass did not find again are cleared: the bar changed and passes.
 * Returns how many were opened by errors and warnings, how many cleared, and the assets
 * whose quarantine changed.
 */
const RECORD_FINDINGS = `
  WITH found AS (
    SELECT * FROM unnest($1::bigint[], $2::date[], $3::text[], $4::text[], $5::text[])
      AS f(asset_id, date, check_name, severity, detail)
  ), judged AS (
    SELECT * FROM unnest($6::bigint[], $7::date[]) AS j(asset_id, from_date)
  ), opened AS (
    INSERT INTO price_quality_findings AS p (asset_id, date, check_name, severity, detail, execution_id)
    SELECT asset_id, date, check_name, severity, detail, $8 FROM found
    ON CONFLICT (asset_id, date, check_name) DO UPDATE SET
      detail = EXCLUDED.detail, severity = EXCLUDED.severity,
      status = CASE WHEN p.status = 'confirmed' THEN 'confirmed' ELSE 'open' END,
      execution_id = CASE WHEN p.status IN ('cleared', 'resolved') THEN EXCLUDED.execution_id ELSE p.execution_id END,
      found_at = CASE WHEN p.status IN ('cleared', 'resolved') THEN now() ELSE p.found_at END,
      status_changed_at = CASE WHEN p.status IN ('cleared', 'resolved') THEN now() ELSE p.status_changed_at END
    RETURNING p.asset_id, p.severity, p.status, (xmax = 0) AS inserted
  ), cleared AS (
    UPDATE price_quality_findings p
       SET status = 'cleared', status_changed_at = now(), status_note = 'the bar changed and passes the check'
      FROM judged j
     WHERE p.asset_id = j.asset_id AND p.date >= j.from_date AND p.status = 'open'
       AND NOT EXISTS (SELECT 1 FROM found f WHERE f.asset_id = p.asset_id AND f.date = p.date AND f.check_name = p.check_name)
    RETURNING p.asset_id, p.severity
  )
  SELECT (SELECT count(*) FILTER (WHERE inserted AND severity = 'error') FROM opened)::int AS errors,
         (SELECT count(*) FILTER (WHERE inserted AND severity = 'warning') FROM opened)::int AS warnings,
         (SELECT count(*) FROM cleared)::int AS cleared,
         ARRAY(SELECT asset_id FROM opened WHERE severity = 'error' AND status = 'open'
               UNION SELECT asset_id FROM cleared WHERE severity = 'error') AS quarantine_changed`;

export interface RecordedFindings {
  errors: number;
  warnings: number;
  cleared: number;
  quarantineChanged: number[];
}

export async function recordFindings(
  q: Queryable,
  executionId: number | null,
  judged: Array<{ asset_id: number; from_date: string }>,
  found: Array<Finding & { assetId: number }>,
): Promise<RecordedFindings> {
  const r = (
    await q.query<{ errors: number; warnings: number; cleared: number; quarantine_changed: string[] }>(
      RECORD_FINDINGS,
      [
        found.map((f) => f.assetId),
        found.map((f) => f.date),
        found.map((f) => f.check),
        found.map((f) => f.severity),
        found.map((f) => f.detail),
        judged.map((j) => j.asset_id),
        judged.map((j) => j.from_date),
        executionId,
      ],
    )
  ).rows[0]!;
  rowsWritten.inc({ table: 'price_quality_findings' }, r.errors + r.warnings + r.cleared);
  return {
    errors: r.errors,
    warnings: r.warnings,
    cleared: r.cleared,
    quarantineChanged: r.quarantine_changed.map(Number),
  };
}

/**
 * Takes up to `limit` quarantined bars of these exchanges (null: any) never asked again and
 * found before `foundBefore` (the run's start: a bar is asked again a day after it was
 * found, when EODHD's correction has had time to land, not minutes after its first print),
 * marking them asked (one ask each, whoever takes it).
 */
const TAKE_UNASKED = `
  UPDATE price_quality_findings p SET reasked_at = now()
   WHERE p.id IN (
     SELECT f.id FROM price_quality_findings f JOIN assets a ON a.id = f.asset_id
      WHERE f.status = 'open' AND f.severity = 'error' AND f.reasked_at IS NULL AND f.found_at < $3
        AND ($1::text[] IS NULL OR a.exchange = ANY($1::text[]))
      ORDER BY f.id LIMIT $2 FOR UPDATE OF f SKIP LOCKED)
  RETURNING p.id, p.asset_id, p.date::text AS date, p.check_name,
            (SELECT symbol FROM assets WHERE id = p.asset_id) AS symbol`;

export interface UnaskedFinding {
  id: number;
  asset_id: number;
  date: string;
  check_name: string;
  symbol: string;
}

export async function takeUnaskedQuarantined(
  q: Queryable,
  exchanges: string[] | null,
  limit: number,
  foundBefore: Date,
): Promise<UnaskedFinding[]> {
  return (
    await q.query<UnaskedFinding & { id: string; asset_id: string }>(TAKE_UNASKED, [exchanges, limit, foundBefore])
  ).rows.map((r) => ({ ...r, id: Number(r.id), asset_id: Number(r.asset_id) }));
}

const UNASKED_COUNT = `
  SELECT count(*)::int AS n FROM price_quality_findings f JOIN assets a ON a.id = f.asset_id
   WHERE f.status = 'open' AND f.severity = 'error' AND f.reasked_at IS NULL AND f.found_at < $2
     AND ($1::text[] IS NULL OR a.exchange = ANY($1::text[]))`;

export async function unaskedQuarantinedCount(
  q: Queryable,
  exchanges: string[] | null,
  foundBefore: Date,
): Promise<number> {
  return (await q.query<{ n: number }>(UNASKED_COUNT, [exchanges, foundBefore])).rows[0]!.n;
}

/** A taken re-ask that could not be made (no call left): asked again another day. */
const GIVE_BACK_ASK = `UPDATE price_quality_findings SET reasked_at = NULL WHERE id = ANY($1::bigint[])`;

export async function giveBackAsks(q: Queryable, ids: number[]): Promise<void> {
  if (ids.length > 0) await q.query(GIVE_BACK_ASK, [ids]);
}

/** The open findings of a bar the API answered otherwise: cleared, with the reason. */
const CLEAR_BAR = `
  UPDATE price_quality_findings SET status = 'cleared', status_changed_at = now(), status_note = $3
   WHERE asset_id = $1 AND date = $2 AND status = 'open'`;

export async function clearBarFindings(q: Queryable, assetId: number, date: string, note: string): Promise<number> {
  return (await q.query(CLEAR_BAR, [assetId, date, note])).rowCount ?? 0;
}

/**
 * An operator's decision on an open (or confirmed) finding: 'confirm' (the bar is real: it
 * is used again) or 'drop' (the bar is wrong: the caller deletes it; every finding of that
 * bar is resolved). Returns the findings changed.
 */
const DECIDE = `
  UPDATE price_quality_findings SET
    status = CASE WHEN $3 = 'confirm' THEN 'confirmed' ELSE 'resolved' END,
    status_changed_at = now(), status_note = $4
   WHERE asset_id = $1 AND date = $2 AND status IN ('open', 'confirmed')
     AND ($3 = 'drop' OR $5::text IS NULL OR check_name = $5)
  RETURNING check_name, severity`;

export async function decideFinding(
  q: Queryable,
  assetId: number,
  date: string,
  decision: 'confirm' | 'drop',
  note: string,
  check: string | null,
): Promise<Array<{ check_name: string; severity: string }>> {
  return (await q.query<{ check_name: string; severity: string }>(DECIDE, [assetId, date, decision, note, check])).rows;
}

/** The days an operator dropped: a re-read must not bring the bar back. */
const DROPPED_DAYS = `
  SELECT DISTINCT asset_id, date::text AS date FROM price_quality_findings
   WHERE status = 'resolved' AND asset_id = ANY($1::bigint[]) AND date >= $2::date AND date <= $3::date`;

export async function droppedDays(q: Queryable, assetIds: number[], from: string, to: string): Promise<Set<string>> {
  const rows = (await q.query<{ asset_id: string; date: string }>(DROPPED_DAYS, [assetIds, from, to])).rows;
  return new Set(rows.map((r) => `${r.asset_id}:${r.date}`));
}

/** Quarantined days of these assets: indicators and screens leave them out. */
const QUARANTINED = `
  SELECT asset_id, date::text AS date FROM price_quality_findings
   WHERE asset_id = ANY($1::bigint[]) AND status = 'open' AND severity = 'error'`;

export async function quarantinedDays(q: Queryable, assetIds: number[]): Promise<Map<number, Set<string>>> {
  const out = new Map<number, Set<string>>();
  for (const r of (await q.query<{ asset_id: string; date: string }>(QUARANTINED, [assetIds])).rows) {
    const id = Number(r.asset_id);
    let s = out.get(id);
    if (!s) out.set(id, (s = new Set()));
    s.add(r.date);
  }
  return out;
}

const FIRST_OPEN_ERROR = `
  SELECT asset_id, min(date)::text AS date FROM price_quality_findings
   WHERE asset_id = ANY($1::bigint[]) AND status = 'open' AND severity = 'error' GROUP BY asset_id`;

/** The day of each asset's oldest open error (absent: none). */
export async function openErrorDays(q: Queryable, assetIds: number[]): Promise<Map<number, string>> {
  const rows = (await q.query<{ asset_id: string; date: string }>(FIRST_OPEN_ERROR, [assetIds])).rows;
  return new Map(rows.map((r) => [Number(r.asset_id), r.date]));
}

/** The run's totals: findings it opened, by severity. */
const OF_RUN = `
  SELECT count(*) FILTER (WHERE severity = 'error')::int AS errors,
         count(*) FILTER (WHERE severity = 'warning')::int AS warnings
    FROM price_quality_findings WHERE execution_id = $1`;

export async function findingsOfRun(q: Queryable, executionId: number): Promise<{ errors: number; warnings: number }> {
  return (await q.query<{ errors: number; warnings: number }>(OF_RUN, [executionId])).rows[0]!;
}
