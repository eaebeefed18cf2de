/**
 * The reference series of a run: each benchmark index its exchanges use (setting
 * `benchmarks`, stored in stock_prices under its own symbol) and each currency its listings
 * and benchmarks quote in, against the reporting currency (fx_rates). check-quota fetches
 * them once the price updates are fitted into the budget and before anything else gets the
 * rest, 1 call each (/eod/{SYMBOL}?from=<day after the last stored>&to=<the run's day>; the
 * first time from the start of the price history window). What is stored through the day
 * costs nothing, so a duplicate delivery or a check-quota run again after a kill asks only
 * for what is still missing; the writes are upserts.
 */

import { EXCHANGES, type ExchangeCode } from '../domain/exchanges.js';
import { benchmarksInUse, fetchWindow, fxSymbol, isPairCurrency } from '../domain/reference.js';
import { EodhdError } from '../eodhd/client.js';
import { errorText, log } from '../platform/log.js';
import { lastBenchmarkBars } from '../store/benchmarks.js';
import { asOfFor, type Execution, runParameters } from '../store/executions.js';
import { currenciesInUse, lastFxRates, upsertFxRates } from '../store/fx-rates.js';
import { upsertIndexBars } from '../store/prices.js';
import type { Settings } from '../store/settings.js';
import { ensureBenchmarkAssets } from '../store/universe.js';
import { asStop } from './collection.js';
import type { PipelineContext } from './context.js';

export interface ReferenceItem {
  kind: 'benchmark' | 'fx';
  symbol: string;
  /** benchmark: the index's region and currency; fx: the pair's two currencies */
  region?: string;
  currency: string;
  quote?: string;
  /** null: stored through its day already (no call) */
  window: { from: string; to: string } | null;
}

export interface ReferenceOutcome {
  kind: 'benchmark' | 'fx';
  symbol: string;
  from: string | null;
  to: string | null;
  /** fetched: asked and stored; current: nothing to ask; deferred: no budget left (or the API stopped us); dry_run: not asked */
  outcome: 'fetched' | 'current' | 'not_found' | 'failed' | 'deferred' | 'dry_run';
  bars: number;
  written: number;
  error?: string;
}

export interface ReferenceSummary {
  /** calls charged */
  calls: number;
  /** calls it needed (one per series not current) */
  needed: number;
  items: ReferenceOutcome[];
}

/** The exchanges a run covers: its `exchanges`, its watchlist's, or all. */
function runExchanges(run: Execution): ExchangeCode[] {
  const p = runParameters(run.parameters);
  if (p.exchanges) return p.exchanges;
  if (p.symbols) {
    const of = new Set(p.symbols.map((s) => s.slice(s.lastIndexOf('.') + 1)));
    return EXCHANGES.filter((e) => of.has(e));
  }
  return [...EXCHANGES];
}

/** What the run would ask for: its benchmarks, then its currencies' pairs, with the days each lacks. */
export async function planReference(
  ctx: PipelineContext,
  run: Execution,
  settings: Settings,
): Promise<ReferenceItem[]> {
  const p = runParameters(run.parameters);
  const exchanges = runExchanges(run);
  const benchmarks = benchmarksInUse(exchanges, settings.benchmarks);
  const lastBars = await lastBenchmarkBars(
    ctx.pool,
    benchmarks.map((b) => b.symbol),
  );
  const items: ReferenceItem[] = benchmarks.map((b) => ({
    kind: 'benchmark',
    symbol: b.symbol,
    region: b.region,
    currency: b.currency,
    window: fetchWindow(lastBars.get(b.symbol) ?? null, asOfFor(run, b.exchange), settings.price_history_days),
  }));
  const quote = settings.reporting_currency;
  const listed = await currenciesInUse(ctx.pool, p.symbols ? null : exchanges, p.symbols);
  const currencies = [...new Set([...listed, ...benchmarks.map((b) => b.currency)])]
    .filter((c) => c !== quote && isPairCurrency(c))
    .sort();
  const lastRates = await lastFxRates(ctx.pool, currencies, quote);
  for (const c of currencies)
    items.push({
      kind: 'fx',
      symbol: fxSymbol(c, quote),
      currency: c,
      quote,
      window: fetchWindow(lastRates.get(c) ?? null, run.as_of, settings.price_history_days, true),
    });
  return items;
}

/**
 * Asks for each item that lacks days, while `allowance` calls last (the rest is deferred to
 * the next run, which asks from the same day), and stores the answers. An unknown symbol or
 * a failed call is logged and costs the run nothing else; the API's daily limit or a refused
 * key stops the fetching (collection then stops on its own first call).
 */
export async function fetchReference(
  ctx: PipelineContext,
  run: Execution,
  settings: Settings,
  items: ReferenceItem[],
  o: { allowance: number; quotaDay: string; dryRun: boolean },
): Promise<ReferenceSummary> {
  const outcomes: ReferenceOutcome[] = [];
  const needed = items.filter((i) => i.window).length;
  const api = ctx.api(run.execution_id, o.quotaDay, settings);
  const benchmarkIds = o.dryRun
    ? new Map<string, number>()
    : await ensureBenchmarkAssets(
        ctx.pool,
        items
          .filter((i) => i.kind === 'benchmark' && i.window)
          .map((i) => ({ symbol: i.symbol, region: i.region!, currency: i.currency })),
        run.as_of,
      );
  let left = o.allowance;
  let stopped = false;
  for (const item of items) {
    const base = { kind: item.kind, symbol: item.symbol, from: item.window?.from ?? null, to: item.window?.to ?? null };
    if (!item.window) {
      outcomes.push({ ...base, outcome: 'current', bars: 0, written: 0 });
      continue;
    }
    if (o.dryRun) {
      outcomes.push({ ...base, outcome: 'dry_run', bars: 0, written: 0 });
      continue;
    }
    const assetId = benchmarkIds.get(item.symbol);
    if (stopped || left <= 0 || (item.kind === 'benchmark' && assetId === undefined)) {
      outcomes.push({ ...base, outcome: 'deferred', bars: 0, written: 0 });
      continue;
    }
    left--;
    try {
      const h = await api.eod(item.symbol, item.window.from, item.window.to);
      const bars = h.bars.filter((b) => b.date >= item.window!.from && b.date <= item.window!.to);
      const written =
        item.kind === 'benchmark'
          ? await upsertIndexBars(ctx.pool, assetId!, bars)
          : await upsertFxRates(ctx.pool, item.currency, item.quote!, bars);
      outcomes.push({ ...base, outcome: 'fetched', bars: bars.length, written });
    } catch (err) {
      if (asStop(err)) {
        stopped = true;
        outcomes.push({ ...base, outcome: 'deferred', bars: 0, written: 0, error: errorText(err) });
        continue;
      }
      const notFound = err instanceof EodhdError && err.kind === 'not_found';
      log('warn', 'reference_fetch_failed', { symbol: item.symbol, kind: item.kind, error: errorText(err) });
      outcomes.push({
        ...base,
        outcome: notFound ? 'not_found' : 'failed',
        bars: 0,
        written: 0,
        error: errorText(err),
      });
    }
  }
  const summary = { calls: api.callsCharged, needed, items: outcomes };
  log('info', 'reference_fetched', {
    execution_id: run.execution_id,
    calls: summary.calls,
    needed,
    fetched: outcomes.filter((x) => x.outcome === 'fetched').map((x) => x.symbol),
    deferred: outcomes.filter((x) => x.outcome === 'deferred').map((x) => x.symbol),
    failed: outcomes.filter((x) => x.outcome === 'failed' || x.outcome === 'not_found').map((x) => x.symbol),
    dry_run: o.dryRun,
  });
  return summary;
}
