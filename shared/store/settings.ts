/**
 * The pipeline settings (the seed's Airflow Variables and a few more), read from
 * pipeline_settings at the start of each step so an operator can change them while the
 * system runs: UPDATE pipeline_settings SET value = '50000' WHERE key = 'max_price_updates_per_day'.
 */
import { z } from 'zod';
import type { Queryable } from '../platform/db.js';

const count = z.number().int().min(0);
const SettingsSchema = z.object({
  eodhd_daily_quota: count,
  eodhd_quota_buffer: count,
  max_new_assets_per_day: count,
  max_price_updates_per_day: count,
  bulk_load_batch_size: z.number().int().min(1).max(10_000),
  incremental_batch_size: z.number().int().min(1).max(50_000),
  price_history_days: z.number().int().min(1).max(20_000),
  max_consecutive_failures: z.number().int().min(1),
  eodhd_requests_per_minute: z.number().int().min(1).max(100_000),
  work_item_lease_seconds: z.number().int().min(10).max(86_400),
  max_item_starts: z.number().int().min(1).max(100),
  max_item_retries: z.number().int().min(0).max(10),
  item_retry_delay_seconds: z.number().min(0).max(3600),
  us_venues: z.array(z.string().min(1)).min(1),
  price_update_method: z.enum(['auto', 'per_ticker']),
  max_bulk_days: z.number().int().min(0).max(60),
  fundamentals_refresh_days: z.number().int().min(1),
  fundamentals_refresh_large_days: z.number().int().min(1),
  fundamentals_large_market_cap: z.number().min(0),
  fundamentals_refresh_after_earnings_days: z.number().int().min(0),
  fundamentals_refresh_max_per_day: count,
  corporate_actions_enabled: z.boolean(),
  run_detail_retention_days: z.number().int().min(1).max(3650),
  exchange_calendar_refresh_days: z.number().int().min(1).max(365),
  delisted_lists_refresh_days: z.number().int().min(0).max(3650),
  recheck_calls_per_day: count,
  recheck_sessions: z.number().int().min(1).max(60),
  recheck_slow_days_per_day: z.number().int().min(0).max(100),
  quality_move_error_pct: z.number().min(1).max(10_000),
  quality_move_sigmas: z.number().min(1).max(1_000),
  quality_unit_slip_pct: z.number().min(0.1).max(50),
  quality_volume_spike_ratio: z.number().min(2).max(1_000_000),
  quality_stale_sessions: z.number().int().min(2).max(250),
  quality_adjusted_tolerance_pct: z.number().min(0).max(100),
  quality_market_cap_tolerance_pct: z.number().min(1).max(10_000),
  quality_quarantine_alert_pct: z.number().min(0).max(100),
  // Exchange code -> its benchmark index's EODHD symbol (beta is computed against it).
  benchmarks: z.record(z.string().min(1), z.string().regex(/^[A-Z0-9^_-]+\.INDX$/, 'an index symbol like GSPC.INDX')),
  reporting_currency: z.string().regex(/^[A-Z]{3}$/, 'a currency code like USD'),
  indicator_history_sessions: z.number().int().min(1).max(10_000),
  indicator_history_sessions_per_run: z.number().int().min(0).max(1_000_000_000),
  screen_stale_sessions: z.number().int().min(0).max(250),
});
export type Settings = z.infer<typeof SettingsSchema>;

export const DEFAULT_SETTINGS: Settings = {
  eodhd_daily_quota: 100_000,
  eodhd_quota_buffer: 10_000,
  max_new_assets_per_day: 8_000,
  max_price_updates_per_day: 25_000,
  bulk_load_batch_size: 500,
  incremental_batch_size: 5_000,
  price_history_days: 800,
  max_consecutive_failures: 5,
  eodhd_requests_per_minute: 1000,
  work_item_lease_seconds: 300,
  max_item_starts: 5,
  max_item_retries: 2,
  item_retry_delay_seconds: 15,
  us_venues: ['NYSE', 'NASDAQ'],
  price_update_method: 'auto',
  max_bulk_days: 10,
  fundamentals_refresh_days: 30,
  fundamentals_refresh_large_days: 7,
  fundamentals_large_market_cap: 10_000_000_000,
  fundamentals_refresh_after_earnings_days: 2,
  fundamentals_refresh_max_per_day: 1000,
  corporate_actions_enabled: true,
  run_detail_retention_days: 30,
  exchange_calendar_refresh_days: 30,
  delisted_lists_refresh_days: 30,
  recheck_calls_per_day: 1500,
  recheck_sessions: 20,
  recheck_slow_days_per_day: 3,
  quality_move_error_pct: 50,
  quality_move_sigmas: 10,
  quality_unit_slip_pct: 12,
  quality_volume_spike_ratio: 50,
  quality_stale_sessions: 10,
  quality_adjusted_tolerance_pct: 0.5,
  quality_market_cap_tolerance_pct: 50,
  quality_quarantine_alert_pct: 1,
  benchmarks: {
    US: 'GSPC.INDX',
    LSE: 'FTSE.INDX',
    F: 'GDAXI.INDX',
    XETRA: 'GDAXI.INDX',
    PA: 'FCHI.INDX',
    AS: 'AEX.INDX',
    BR: 'BFX.INDX',
    MC: 'IBEX.INDX',
    SW: 'SSMI.INDX',
    LS: 'PSI20.INDX',
  },
  reporting_currency: 'USD',
  indicator_history_sessions: 504,
  indicator_history_sessions_per_run: 500_000,
  screen_stale_sessions: 5,
};

const SELECT_SETTINGS = 'SELECT key, value FROM pipeline_settings';

/** Reads every setting; a missing row takes its default, a malformed one is an error that names it. */
export async function loadSettings(q: Queryable): Promise<Settings> {
  const { rows } = await q.query<{ key: string; value: unknown }>(SELECT_SETTINGS);
  const raw: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const r of rows) if (r.key in DEFAULT_SETTINGS) raw[r.key] = r.value;
  const parsed = SettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`pipeline_settings.${issue?.path.join('.')} is invalid: ${issue?.message}`);
  }
  return parsed.data;
}

const UPSERT_SETTING = `
  INSERT INTO pipeline_settings (key, value, description) VALUES ($1, $2::jsonb, $3)
  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`;

export async function setSetting<K extends keyof Settings>(q: Queryable, key: K, value: Settings[K]): Promise<void> {
  SettingsSchema.shape[key].parse(value);
  await q.query(UPSERT_SETTING, [key, JSON.stringify(value), key]);
}
