/**
 * What a screen is asked and what it answers: the request once parsed and validated
 * (screen-request.ts: from a POST's JSON or a GET's query string), the answer
 * (run-screen.ts), and a preset (presets.ts). The screen page renders these; the
 * function answers them as JSON or CSV.
 */

/** Operations as EODHD's Screener API writes them, and ours beside them. */
export const NUMBER_OPS = ['=', '!=', '>', '>=', '<', '<=', 'between', 'is null', 'not null'] as const;
export const STRING_OPS = ['=', '!=', 'in', 'match', 'is null', 'not null'] as const;
export type FilterOp = (typeof NUMBER_OPS)[number] | (typeof STRING_OPS)[number];

/**
 * One condition, after validation: `field` is a canonical field name (an alias resolved),
 * `value` of the field's type: a number or a date string, [low, high] for between, a list
 * for in, a string for match (a case-insensitive substring), null for is null / not null.
 */
export interface Filter {
  field: string;
  op: FilterOp;
  value: number | string | readonly (number | string)[] | null;
}

export interface Sort {
  field: string;
  dir: 'asc' | 'desc';
}

export interface ScreenRequest {
  filters: Filter[];
  /** Signal names (every one must have fired on the as-of day's row). */
  signals: string[];
  /** The preset whose filters, signals and sorts come first (narrowed by the others). */
  preset: string | null;
  sort: Sort[];
  /** 1-1000, default 50. */
  limit: number;
  offset: number;
  /** The fields shown besides symbol, exchange and name (canonical names); empty: a default set. */
  columns: string[];
  /** EODHD exchange codes; empty: all. */
  exchanges: string[];
  /** A day (YYYY-MM-DD); null: the last session. */
  asOf: string | null;
  /** The currency of money fields (ISO code); null: the reporting currency setting. */
  currency: string | null;
  /** Whether assets whose last price is older than the staleness setting are kept. */
  includeStale: boolean;
}

export interface ScreenAnswer {
  /** The day screened (the as-of day asked, or the last session). */
  asOf: string;
  /** Rows that pass every filter (before limit and offset). */
  total: number;
  currency: string;
  /** symbol, exchange, name, then the columns shown, in order. */
  columns: string[];
  data: Array<Record<string, string | number | null>>;
  limit: number;
  offset: number;
}

export interface Preset {
  name: string;
  description: string;
  filters: Filter[];
  signals: string[];
  sort: Sort[];
  /** The fields the preset shows by default. */
  columns: string[];
}
