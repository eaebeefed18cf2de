/**
 * Which published sessions a run reads again for EODHD's late corrections, within what is
 * left of the day's budget after prices, histories and fundamentals (never before), and at
 * most recheck_calls_per_day: first each exchange's previous session (its first print was
 * stored by the run before; re-read the day after, when US volumes and most corrections are
 * in), then, on a slower cycle, a few exchange-days of the last recheck_sessions sessions:
 * first those whose re-read now would catch the most days of corrections. An exchange re-reads with one bulk answer a day
 * (100 calls) when that is cheaper than one call a ticker; otherwise one call a ticker
 * covers all its days at once. What is left after the re-reads is the run's allowance for
 * asking quarantined bars once more.
 */
import { API_COST } from '../eodhd/client.js';

/**
 * Most of EODHD's corrections land within days ("hours, days, or even weeks"): a re-read
 * a week after a session catches what the next-day one did not.
 */
const CORRECTION_DAYS = 7;

const dayNumber = (d: string) => Math.floor(Date.parse(`${d}T00:00:00Z`) / 86_400_000);

export interface RecheckDemand {
  exchange: string;
  /** Assets whose prices a re-read compares (one call each, without bulk). */
  assets: number;
  /** The exchange's sessions before its run day, oldest first (the last recheck_sessions of them). */
  sessions: string[];
  /** The last session the previous run stored (null: no previous run; nothing to re-read). */
  previousDay: string | null;
}

export interface RecheckPlan {
  exchange: string;
  dates: string[];
  method: 'bulk' | 'ticker';
  calls: number;
}

export function planRechecks(
  demand: RecheckDemand[],
  budget: number,
  opts: { bulk: boolean; slowDaysPerDay: number; lastChecked: Map<string, Date>; today: string },
): { plans: RecheckPlan[]; calls: number; reaskAllowed: number } {
  let left = Math.max(0, budget);
  const plans = new Map<string, RecheckPlan>();
  const methodOf = (d: RecheckDemand): 'bulk' | 'ticker' => (opts.bulk && d.assets > API_COST.bulk ? 'bulk' : 'ticker');
  // The largest exchanges first: their previous session holds the most first prints.
  const order = [...demand].sort((a, b) => b.assets - a.assets || a.exchange.localeCompare(b.exchange));
  for (const d of order) {
    if (d.previousDay === null || d.assets === 0) continue;
    const previous = d.sessions.filter((s) => s <= d.previousDay!).at(-1);
    if (!previous) continue;
    const method = methodOf(d);
    const cost = method === 'bulk' ? API_COST.bulk : d.assets * API_COST.eod;
    if (cost > left) continue;
    left -= cost;
    // One call a ticker covers every day back to the window's start at no extra cost.
    const dates = method === 'ticker' ? d.sessions.filter((s) => s <= previous) : [previous];
    plans.set(d.exchange, { exchange: d.exchange, dates, method, calls: cost });
  }
  // The slower cycle: older sessions of bulk exchanges, those a re-read now would catch the
  // most corrections of first (gain: the days of corrections since its last read, up to a
  // week: most land within days), the larger exchanges first, then the newer sessions.
  const candidates: Array<{ exchange: string; date: string; gain: number; assets: number }> = [];
  const today = dayNumber(opts.today);
  for (const d of order) {
    const p = plans.get(d.exchange);
    if (p?.method !== 'bulk') continue;
    for (const s of d.sessions) {
      if (s >= p.dates[0]!) continue;
      const published = dayNumber(s);
      const read = opts.lastChecked.get(`${d.exchange}:${s}`);
      const readAfter = read ? Math.max(0, Math.floor(read.getTime() / 86_400_000) - published) : 0;
      const gain = Math.min(today - published, CORRECTION_DAYS) - Math.min(readAfter, CORRECTION_DAYS);
      if (gain > 0) candidates.push({ exchange: d.exchange, date: s, gain, assets: d.assets });
    }
  }
  candidates.sort(
    (a, b) =>
      b.gain - a.gain || b.assets - a.assets || b.date.localeCompare(a.date) || a.exchange.localeCompare(b.exchange),
  );
  let slow = 0;
  for (const c of candidates) {
    if (slow >= opts.slowDaysPerDay || left < API_COST.bulk) break;
    const p = plans.get(c.exchange)!;
    p.dates.push(c.date);
    p.calls += API_COST.bulk;
    left -= API_COST.bulk;
    slow++;
  }
  for (const p of plans.values()) p.dates.sort();
  const list = [...plans.values()];
  return { plans: list, calls: list.reduce((n, p) => n + p.calls, 0), reaskAllowed: left };
}
