/**
 * The derived figures of one asset at one session: returns, relative volume, distances to
 * the 52-week range and to the moving averages, the opening gap, the traded value. Each is
 * defined here once (FIGURES gives its formula and unit for docs/screener-columns.md).
 *
 * Prices are split- and dividend-adjusted (adjusted closes; an open or a high adjusted by
 * the bar's adjusted_close / close), so a split is not a crash and a dividend not a drop;
 * the traded value alone uses the raw close, as it was traded. Months are sessions (21 a
 * month, 252 a year), not calendar months: a figure then compares the same number of
 * sessions on every exchange and every day, and needs no calendar; the year to date is the
 * calendar's (from the last close of the previous year).
 */
import type { IndicatorRow } from './indicators.js';

export const FIGURE_COLUMNS = [
  'change_1d_pct',
  'change_5d_pct',
  'change_1m_pct',
  'change_3m_pct',
  'change_6m_pct',
  'change_12m_pct',
  'change_ytd_pct',
  'relative_volume',
  'pct_from_52w_high',
  'pct_from_52w_low',
  'pct_vs_sma_50',
  'pct_vs_sma_200',
  'gap_pct',
  'avg_traded_value_30',
] as const;
export type FigureColumn = (typeof FIGURE_COLUMNS)[number];
export type FigureRow = Record<FigureColumn, number | null>;

/** Sessions back of each change (the months are sessions: see above). */
export const CHANGE_SESSIONS = {
  change_1d_pct: 1,
  change_5d_pct: 5,
  change_1m_pct: 21,
  change_3m_pct: 63,
  change_6m_pct: 126,
  change_12m_pct: 252,
} as const;
/** Sessions of the averages of volume (relative volume) and of traded value. */
export const AVERAGE_SESSIONS = 30;

/** What each figure is, for the documentation: t is the session, adj the adjusted close. */
export const FIGURES: ReadonlyArray<{ column: FigureColumn; unit: string; formula: string }> = [
  { column: 'change_1d_pct', unit: 'percent', formula: '100 × (adj[t] / adj[t−1] − 1)' },
  { column: 'change_5d_pct', unit: 'percent', formula: '100 × (adj[t] / adj[t−5] − 1)' },
  { column: 'change_1m_pct', unit: 'percent', formula: '100 × (adj[t] / adj[t−21] − 1) (a month is 21 sessions)' },
  { column: 'change_3m_pct', unit: 'percent', formula: '100 × (adj[t] / adj[t−63] − 1)' },
  { column: 'change_6m_pct', unit: 'percent', formula: '100 × (adj[t] / adj[t−126] − 1)' },
  { column: 'change_12m_pct', unit: 'percent', formula: '100 × (adj[t] / adj[t−252] − 1)' },
  {
    column: 'change_ytd_pct',
    unit: 'percent',
    formula:
      "100 × (adj[t] / adj[y] − 1), y the asset's last session of the previous calendar year (NULL without one in the 400 sessions before)",
  },
  {
    column: 'relative_volume',
    unit: 'ratio',
    formula: 'volume[t] / mean(volume[t−30 … t−1]) (the 30 sessions before the day; NULL when that mean is 0)',
  },
  {
    column: 'pct_from_52w_high',
    unit: 'percent',
    formula: '100 × (adj[t] / week_52_high − 1) (≤ 0; week_52_high: the highest adjusted high of 252 sessions)',
  },
  {
    column: 'pct_from_52w_low',
    unit: 'percent',
    formula: '100 × (adj[t] / week_52_low − 1) (≥ 0; week_52_low: the lowest adjusted low of 252 sessions)',
  },
  { column: 'pct_vs_sma_50', unit: 'percent', formula: '100 × (adj[t] / sma_50 − 1)' },
  { column: 'pct_vs_sma_200', unit: 'percent', formula: '100 × (adj[t] / sma_200 − 1)' },
  {
    column: 'gap_pct',
    unit: 'percent',
    formula:
      '100 × (open[t] × adj[t] / close[t] / adj[t−1] − 1): the adjusted open against the previous adjusted close',
  },
  {
    column: 'avg_traded_value_30',
    unit: "the price's quote unit (pence for GBX, not pounds)",
    formula: 'mean(close[k] × volume[k]) over the 30 sessions k = t−29 … t, on the raw close (as traded)',
  },
];

/** One asset's bars, oldest first: all of the same length. */
export interface FigureBars {
  /** 'YYYY-MM-DD' (only the year is read: the year to date). */
  date: ArrayLike<string>;
  /** Adjusted: open × adjusted_close / close. */
  open: ArrayLike<number>;
  /** Adjusted closes. */
  close: ArrayLike<number>;
  /** Raw closes, as traded (the traded value). */
  rawClose: ArrayLike<number>;
  volume: ArrayLike<number>;
}

const pct = (now: number, then: number): number | null =>
  then > 0 && Number.isFinite(now) && Number.isFinite(then) ? 100 * (now / then - 1) : null;
const orNull = (v: number | null): number | null => (v !== null && Number.isFinite(v) ? v : null);

/**
 * The figures at bar t, from the bars up to t (none after it) and that session's
 * indicators (sma_50, sma_200, week_52_high, week_52_low). Nothing looks further back than
 * 252 sessions (the year to date: the previous year's last session, at most ~260), so the
 * last 500 bars give the same values as the whole series.
 */
export function computeFigures(b: FigureBars, t: number, ind: IndicatorRow): FigureRow {
  const c = b.close;
  const now = c[t]!;
  const back = (sessions: number): number | null => (t - sessions >= 0 ? pct(now, c[t - sessions]!) : null);
  let ytd: number | null = null;
  // Dates compare as text: no substring a bar.
  const yearStart = `${b.date[t]!.slice(0, 4)}-01-01`;
  for (let k = t - 1; k >= 0 && k >= t - 400; k--) {
    if (b.date[k]! < yearStart) {
      ytd = pct(now, c[k]!);
      break;
    }
  }
  let relVolume: number | null = null;
  if (t - AVERAGE_SESSIONS >= 0) {
    let sum = 0;
    for (let k = t - AVERAGE_SESSIONS; k < t; k++) sum += b.volume[k]!;
    relVolume = sum > 0 ? b.volume[t]! / (sum / AVERAGE_SESSIONS) : null;
  }
  let traded: number | null = null;
  if (t - AVERAGE_SESSIONS + 1 >= 0) {
    let sum = 0;
    for (let k = t - AVERAGE_SESSIONS + 1; k <= t; k++) sum += b.rawClose[k]! * b.volume[k]!;
    traded = sum / AVERAGE_SESSIONS;
  }
  const vs = (v: number | null): number | null => (v === null ? null : pct(now, v));
  return {
    change_1d_pct: back(CHANGE_SESSIONS.change_1d_pct),
    change_5d_pct: back(CHANGE_SESSIONS.change_5d_pct),
    change_1m_pct: back(CHANGE_SESSIONS.change_1m_pct),
    change_3m_pct: back(CHANGE_SESSIONS.change_3m_pct),
    change_6m_pct: back(CHANGE_SESSIONS.change_6m_pct),
    change_12m_pct: back(CHANGE_SESSIONS.change_12m_pct),
    change_ytd_pct: ytd,
    relative_volume: orNull(relVolume),
    pct_from_52w_high: vs(ind.week_52_high),
    pct_from_52w_low: vs(ind.week_52_low),
    pct_vs_sma_50: vs(ind.sma_50),
    pct_vs_sma_200: vs(ind.sma_200),
    gap_pct: t >= 1 && b.open[t]! > 0 ? pct(b.open[t]!, c[t - 1]!) : null,
    avg_traded_value_30: orNull(traded),
  };
}
