// A ticker universe of the real one's shape, for a clone without the ticker files.
//
// Why: the real 21,817 tickers (../shared/data/tickers) are not part of the project, so a
// user's clone, and its tests, must run without them. Each file is generated with its real
// size and in its exchange's style (letters for the US, London and Euronext; digits and
// letters for Frankfurt and Xetra; class shares with a dash; warrants and units on NYSE),
// and the names tests and examples use (AAPL, BRK-B, SAP, ASML, ...) are always there.
// Deterministic: every clone generates the same universe.

import type { FileId } from './exchanges.js';
import { h3, hashString, S } from './hash.js';

/** Sizes of the real files (October 2025). */
export const FILE_SIZES: Record<FileId, number> = {
  nyse: 2339,
  nasdaq: 4086,
  lse: 3145,
  frankfurt: 10209,
  xetra: 691,
  euronext: 890,
  bme: 239,
  six: 218,
};

/** Real codes every generated file starts with: the well-known names, and the dash shapes EODHD uses. */
const KNOWN: Record<FileId, string[]> = {
  nyse: ['BRK-A', 'BRK-B', 'JPM', 'XOM', 'KO', 'BAC-PL', 'AACT-WT', 'AIIA-U', 'ACHR-WT', 'BBAI-WT'],
  nasdaq: ['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'NVDA', 'META', 'TSLA'],
  lse: ['BP', 'HSBA', 'SHEL', 'AZN', 'ULVR', 'BT-A'],
  frankfurt: ['SAP', 'SIE', '0JW', '1U1', 'VOW3'],
  xetra: ['SAP', 'VOW3', 'SIE', 'ALV', 'DTE', 'BMW'],
  euronext: ['ASML', 'MC', 'ABI', 'EDP', 'HEIA', 'AIR', 'GALP', 'UCB'],
  bme: ['SAN', 'ITX', 'IBE', 'BBVA'],
  six: ['NESN', 'NOVN', 'ROG', 'UBSG'],
};

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function code(file: FileId, seed: number, i: number): string {
  const r = (k: number) => h3(seed, i, k);
  const pick = (alphabet: string, k: number) => alphabet[r(k) % alphabet.length];
  switch (file) {
    case 'frankfurt':
    case 'xetra': {
      const len = 3 + (r(0) % 2);
      let s = '';
      for (let k = 0; k < len; k++) s += pick(k === 0 && r(9) % 3 === 0 ? '0123456789' : ALNUM, k + 1);
      return s;
    }
    case 'nyse': {
      // A few class shares, warrants and units, as in the real list.
      const base = Array.from({ length: 2 + (r(0) % 3) }, (_, k) => pick(LETTERS, k + 1)).join('');
      const u = r(8) % 100;
      return u < 3 ? `${base}-WT` : u < 4 ? `${base}-U` : u < 7 ? `${base}-P${pick(LETTERS, 7)}` : base;
    }
    default: {
      const len = (file === 'nasdaq' ? 3 : 2) + (r(0) % 3);
      return Array.from({ length: len }, (_, k) => pick(LETTERS, k + 1)).join('');
    }
  }
}

/** Files that list the same EODHD exchange: a code may be in only one of them (NYSE and NASDAQ are both US). */
const SAME_EXCHANGE: Partial<Record<FileId, FileId>> = { nasdaq: 'nyse' };

/** Listings of the real files together (the `full` universe). */
export const REAL_UNIVERSE_SIZE = Object.values(FILE_SIZES).reduce((a, b) => a + b, 0);

/**
 * The codes of one file, as many as the real one has (times `scale`, for a synthetic
 * universe larger or smaller than the real one), well-known names first.
 */
export function generatedCodes(file: FileId, scale = 1): string[] {
  const taken = SAME_EXCHANGE[file] ? new Set(generatedCodes(SAME_EXCHANGE[file]!, scale)) : new Set<string>();
  const out = new Set<string>(KNOWN[file]);
  const size = Math.max(KNOWN[file].length, Math.round(FILE_SIZES[file] * scale));
  const seed = hashString(`generated:${file}`) ^ S.listing;
  for (let i = 0; out.size < size; i++) {
    const c = code(file, seed, i);
    if (!taken.has(c)) out.add(c);
  }
  return [...out];
}
