/**
 * A loaded state without loading it through the API, for universes too large to load in a
 * bench (150,000 assets need ~17 days of a 100,000-call plan for their fundamentals alone).
 *
 * The assets come the pipeline's own way: a run whose budget covers only the exchanges'
 * symbol lists, so discover-delta syncs the universe and everything else is deferred. Then,
 * in SQL, every active asset gets `bars` weekdays of generated prices up to its exchange's
 * last trading day, and its state says what a finished load says (prices loaded and checked
 * through that day, fundamentals loaded today). The next day is then a normal day for the
 * whole universe: bulk prices, indicators, refreshes. Prices are a deterministic function of
 * the asset and the day, not the simulator's: they serve to be read and computed, and the
 * next day's bars come from the simulator as on any normal day.
 */
import type pg from 'pg';
import { mapLimited } from '../shared/platform/concurrency.js';
import { setSetting } from '../shared/store/settings.js';

export interface SeedResult {
  assets: number;
  priceRows: number;
  seconds: number;
}

const SEED_PRICES = `
  INSERT INTO stock_prices (asset_id, date, open, high, low, close, adjusted_close, volume)
  SELECT a.id, d.day, c.v * (1 + 0.004 * sin(d.i + a.id)), c.v * (1 + 0.01 + 0.01 * abs(sin(d.i * 1.7 + a.id))),
         c.v * (1 - 0.01 - 0.01 * abs(cos(d.i * 1.3 + a.id))), c.v, c.v, 1000 + ((a.id * 7919 + d.i * 104729) % 100000)
    FROM assets a
    CROSS JOIN LATERAL (
      SELECT day::date AS day, row_number() OVER (ORDER BY day) AS i
        FROM generate_series(($2::jsonb ->> a.exchange)::date - ($3::int * 7 / 5 + 7), ($2::jsonb ->> a.exchange)::date, interval '1 day') AS day
       WHERE extract(isodow FROM day) < 6
       ORDER BY day DESC LIMIT $3
    ) d
    CROSS JOIN LATERAL (SELECT (2 + (a.id % 300)) * exp(0.25 * sin(d.i / 40.0 + a.id) + 0.05 * sin(d.i / 3.3 + a.id * 1.3)) AS v) c
   WHERE a.is_active AND a.id = ANY($1::bigint[])
  ON CONFLICT (asset_id, date) DO NOTHING`;

const SEED_STATE = `
  INSERT INTO asset_processing_state AS s (asset_id, prices_loaded, prices_first_date, prices_last_date, prices_checked_through,
         prices_last_updated_at, prices_currency, fundamentals_loaded, fundamentals_loaded_at)
  SELECT a.id, true, p.first, p.last, p.last, now(), a.currency, true, now()
    FROM assets a
    JOIN LATERAL (SELECT min(date) AS first, max(date) AS last FROM stock_prices WHERE asset_id = a.id) p ON p.last IS NOT NULL
   WHERE a.is_active
  ON CONFLICT (asset_id) DO UPDATE SET prices_loaded = true, prices_first_date = EXCLUDED.prices_first_date,
    prices_last_date = EXCLUDED.prices_last_date, prices_checked_through = EXCLUDED.prices_checked_through,
    prices_last_updated_at = now(), prices_currency = EXCLUDED.prices_currency, fundamentals_loaded = true,
    fundamentals_loaded_at = now(), needs_prices_reprocess = false, needs_fundamentals_reprocess = false, updated_at = now()`;

/**
 * Syncs the universe with one run (lists only), then seeds `bars` bars per active asset.
 * `runDay` opens a run and waits for its chain; `lastTradingDays` maps each exchange code to
 * its last trading day in the simulator.
 */
export async function seedLoadedState(
  pool: pg.Pool,
  runDay: () => Promise<unknown>,
  lastTradingDays: Record<string, string>,
  bars: number,
  say: (line: string) => void,
): Promise<SeedResult> {
  const t0 = performance.now();
  // 1. The universe, the pipeline's own way: a budget of the lists (10 calls) and no more.
  await setSetting(pool, 'eodhd_quota_buffer', 0);
  await setSetting(pool, 'eodhd_daily_quota', 12);
  await setSetting(pool, 'corporate_actions_enabled', false);
  await runDay();
  await pool.query(
    `DELETE FROM pipeline_settings WHERE key IN ('eodhd_quota_buffer', 'eodhd_daily_quota', 'corporate_actions_enabled')`,
  );
  const ids = (await pool.query<{ id: string }>(`SELECT id FROM assets WHERE is_active ORDER BY id`)).rows.map((r) =>
    Number(r.id),
  );
  say(`  ${ids.length} assets listed; seeding ${bars} bars each...`);
  // 2. Prices, 2,000 assets a statement, two statements at a time.
  const chunks: number[][] = [];
  for (let i = 0; i < ids.length; i += 2000) chunks.push(ids.slice(i, i + 2000));
  const written = await mapLimited(chunks, 2, async (chunk, c) => {
    const n = (await pool.query(SEED_PRICES, [chunk, JSON.stringify(lastTradingDays), bars])).rowCount ?? 0;
    if (c % 10 === 9) say(`  ${Math.min(ids.length, (c + 1) * 2000)} of ${ids.length} assets seeded`);
    return n;
  });
  const rows = written.reduce((a, b) => a + b, 0);
  // 3. What a finished load leaves in each asset's state.
  await pool.query(SEED_STATE);
  await pool.query('ANALYZE');
  return { assets: ids.length, priceRows: rows, seconds: (performance.now() - t0) / 1000 };
}
