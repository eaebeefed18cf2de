import { SYMBOL_PATTERN } from '../shared/platform/input.js';

/**
 * What `npm start` and `npm run simulate` fetch on the free plan (20 calls a day) when no
 * symbols are given: well-known names on five exchanges, every one of them in the
 * simulator's sample universe (the ETF too): 5 symbol lists + 9 histories fit the 18
 * calls the plan leaves after its buffer.
 */
export const FREE_PLAN_WATCHLIST = [
  'AAPL.US',
  'MSFT.US',
  'GOOGL.US',
  'BRK-B.US',
  'SPY.US',
  'BP.LSE',
  'HSBA.LSE',
  'SAP.XETRA',
  'ASML.AS',
];

/**
 * The symbols of --symbols (comma-separated, any case), or the free plan's default list,
 * or null (the whole universe). Throws a one-line error for a symbol that is not CODE.EXCHANGE.
 */
export function watchlistOf(arg: string | undefined, plan: string): string[] | null {
  if (arg === undefined) return plan === 'free' ? FREE_PLAN_WATCHLIST : null;
  const symbols = arg
    .split(',')
    .map((x) => x.trim().toUpperCase())
    .filter(Boolean);
  if (symbols.length === 0 || !symbols.every((x) => SYMBOL_PATTERN.test(x)))
    throw new Error('--symbols takes CODE.EXCHANGE symbols, comma-separated (AAPL.US,BP.LSE)');
  return symbols;
}
