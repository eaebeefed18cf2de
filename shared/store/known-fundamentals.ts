/**
 * What calc-indicators reads of the fundamentals as they were known (reads only; the tables
 * are written by store/fundamentals.ts): for a batch of assets, in one query each, every
 * fundamentals version and the report rows (balance sheets, yearly income statements) the
 * sessions from a bound on can need, ordered as the walks of domain/screen-row.ts read them.
 *
 * The bound is the first session to be computed (or any earlier day): of what was public by
 * then only what can still be the answer on a session from it is read, the version known on
 * the bound, the balance sheets of the latest period public by then and after, the yearly
 * income statements back to five years and 45 days before the latest public by then (the
 * oldest a growth rate reads), so that a daily run reads a few rows an asset, not every
 * version ever fetched.
 */
import type { YearlyIncome } from '../domain/growth.js';
import {
  type BalanceSheetRow,
  KNOWN_COLUMNS,
  type KnownColumn,
  type KnownFundamentals,
  type KnownVersion,
  VALUATION_COLUMNS,
} from '../domain/screen-row.js';
import type { Queryable } from '../platform/db.js';

/** Each copied column's expression over fundamentals_versions v (currency_units cu: the currency's major unit). */
const SOURCE: Partial<Record<KnownColumn, string>> = {
  fundamentals_known_from: 'v.known_from::text',
  fundamentals_currency: 'coalesce(cu.major, v.currency)',
  beta_eodhd: 'v.beta',
  next_earnings_date: 'v.next_earnings_date::text',
};
const VERSION_SELECT = [
  ...KNOWN_COLUMNS.map((c) => `${SOURCE[c] ?? `v.${c}`} AS ${c}`),
  ...VALUATION_COLUMNS.map((c) => `v.${c}`),
].join(', ');

// The version known on the bound and every later one (the primary key (asset_id, known_from) answers both).
const LOAD_VERSIONS = `
  SELECT v.asset_id, ${VERSION_SELECT}
    FROM unnest($1::bigint[], $2::date[]) AS b(asset_id, bound)
    JOIN fundamentals_versions v ON v.asset_id = b.asset_id
    LEFT JOIN currency_units cu ON cu.code = v.currency
   WHERE v.known_from >= coalesce((SELECT max(w.known_from) FROM fundamentals_versions w
                                    WHERE w.asset_id = b.asset_id AND w.known_from <= b.bound), '-infinity')
   ORDER BY v.asset_id, v.known_from`;

// A row is public from its filing date, else from first_seen (sql/025). Sorted by that, then
// first_seen: the walks take a period's later row as its later version.
const LOAD_REPORTS = `
  SELECT r.asset_id, r.statement = 'balance_sheet' AS balance, r.frequency = 'yearly' AS yearly,
         r.period_end::text AS period_end, coalesce(r.filing_date, r.first_seen)::text AS public_from,
         r.first_seen::text AS first_seen, r.revenue, r.net_income, r.eps, r.equity
    FROM unnest($1::bigint[], $2::date[]) AS b(asset_id, bound)
    CROSS JOIN LATERAL (
      SELECT max(x.period_end) FILTER (WHERE x.statement = 'income_statement') AS income,
             max(x.period_end) FILTER (WHERE x.statement = 'balance_sheet') AS balance
        FROM financial_reports x
       WHERE x.asset_id = b.asset_id AND coalesce(x.filing_date, x.first_seen) <= b.bound
         AND (x.statement = 'balance_sheet' OR (x.statement = 'income_statement' AND x.frequency = 'yearly'))
    ) k
    JOIN financial_reports r ON r.asset_id = b.asset_id
   WHERE (r.statement = 'income_statement' AND r.frequency = 'yearly'
          AND r.period_end >= coalesce((k.income - make_interval(years => 5))::date - 45, '-infinity'))
      OR (r.statement = 'balance_sheet' AND r.period_end >= coalesce(k.balance, '-infinity'))
   ORDER BY r.asset_id, public_from, r.first_seen`;

interface ReportRow {
  asset_id: string;
  balance: boolean;
  yearly: boolean;
  period_end: string;
  public_from: string;
  first_seen: string;
  revenue: number | null;
  net_income: number | null;
  eps: number | null;
  equity: number | null;
}

/**
 * The versions and report rows of these assets from each one's bound ('YYYY-MM-DD', or
 * '-infinity': all), two queries for the whole batch. An asset with none is absent.
 */
export async function loadKnownFundamentals(
  q: Queryable,
  assetIds: readonly number[],
  bounds: readonly string[],
): Promise<Map<number, KnownFundamentals>> {
  const out = new Map<number, { versions: KnownVersion[]; incomes: YearlyIncome[]; balances: BalanceSheetRow[] }>();
  if (assetIds.length === 0) return out;
  const of = (id: number) => {
    let k = out.get(id);
    if (!k) {
      k = { versions: [], incomes: [], balances: [] };
      out.set(id, k);
    }
    return k;
  };
  const [versions, reports] = await Promise.all([
    q.query<KnownVersion & { asset_id: string }>(LOAD_VERSIONS, [assetIds, bounds]),
    q.query<ReportRow>(LOAD_REPORTS, [assetIds, bounds]),
  ]);
  for (const { asset_id, ...v } of versions.rows) of(Number(asset_id)).versions.push(v);
  for (const r of reports.rows) {
    const k = of(Number(r.asset_id));
    if (r.balance)
      k.balances.push({
        periodEnd: r.period_end,
        publicFrom: r.public_from,
        firstSeen: r.first_seen,
        yearly: r.yearly,
        equity: r.equity,
      });
    else
      k.incomes.push({
        periodEnd: r.period_end,
        publicFrom: r.public_from,
        firstSeen: r.first_seen,
        revenue: r.revenue,
        netIncome: r.net_income,
        eps: r.eps,
      });
  }
  return out;
}
