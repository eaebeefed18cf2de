/**
 * The reference series a run fetches beside its assets: each exchange's benchmark index (for
 * beta) and the FX pairs into the reporting currency (for v_fx_rates). Pure: which symbols,
 * and which days of each; the store reads what is stored, the step makes the calls.
 */
import { addDays } from './dates.js';
import { EXCHANGE_CURRENCY, EXCHANGES, type ExchangeCode, REGION_OF, type Region } from './exchanges.js';

export interface BenchmarkUse {
  /** EODHD symbol, e.g. GSPC.INDX */
  symbol: string;
  /** the run's exchanges it serves, in EXCHANGES order */
  exchanges: ExchangeCode[];
  /** the region of the first exchange it serves */
  region: Region;
  currency: string;
  /** the day it is brought up to: the first served exchange's trading day of the run */
  exchange: ExchangeCode;
}

/** The benchmarks the exchanges of a run use (setting `benchmarks`), one entry per index. */
export function benchmarksInUse(
  exchanges: readonly ExchangeCode[],
  benchmarks: Readonly<Record<string, string>>,
): BenchmarkUse[] {
  const out = new Map<string, BenchmarkUse>();
  for (const ex of EXCHANGES) {
    if (!exchanges.includes(ex)) continue;
    const symbol = benchmarks[ex]?.toUpperCase();
    if (!symbol) continue;
    const seen = out.get(symbol);
    if (seen) seen.exchanges.push(ex);
    else
      out.set(symbol, {
        symbol,
        exchanges: [ex],
        region: REGION_OF[ex],
        currency: EXCHANGE_CURRENCY[ex],
        exchange: ex,
      });
  }
  return [...out.values()];
}

/** The EODHD symbol of a pair: units of `quote` per unit of `currency`. */
export function fxSymbol(currency: string, quote: string): string {
  return `${currency}${quote}.FOREX`;
}

/** A currency code a pair can be made of (EODHD's minor units, GBX and the like, are mapped to their major first). */
export function isPairCurrency(c: string): boolean {
  return /^[A-Z]{3}$/.test(c);
}

/**
 * The days to ask for: from the day after the last stored one (the first time, from the
 * start of the price history window), through `to`; null when nothing can be new. With
 * `reread`, from the last stored day itself while a later day is asked for: an FX day ends
 * at 23:59 UTC, after the run, so the bar stored on its own day may be provisional; asking
 * again from it costs nothing, since the call for the new day is made anyway.
 */
export function fetchWindow(
  lastStored: string | null,
  to: string,
  historyDays: number,
  reread = false,
): { from: string; to: string } | null {
  if (!lastStored) return { from: addDays(to, -historyDays), to };
  if (addDays(lastStored, 1) > to) return null;
  return { from: reread ? lastStored : addDays(lastStored, 1), to };
}
