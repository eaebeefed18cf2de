// When a session's end-of-day bars become visible.
//
// Why: EODHD publishes a day's bars some time after the exchange closes, and a pipeline
// that runs early (or in another time zone) must cope with "today" not being there yet:
// /eod ends at the previous session, the bulk answer without a date is the previous
// session's. The daily cron runs at 21:30 UTC, after every exchange here has published, so
// the default clock sees the whole simulated day; other times of day see less.
//
// The rule (EODHD's documentation): US (NYSE/NASDAQ) bars at 16:15 New York time;
// elsewhere 2 to 3 hours after the local close (LSE 16:30 London, Lisbon 16:30, the others
// 17:30 local), the delay drawn per (exchange, day) in whole minutes from 120 to 180,
// deterministic. Times are local with daylight saving (clock.ts).

import { CALENDARS } from './calendar.js';
import { DAY_MS, minutesOf, zonedInstant } from './clock.js';
import { EXCHANGE_CODES, EXCHANGES, type ExchangeCode } from './exchanges.js';
import { hashString, S, u3 } from './hash.js';

const US_PUBLICATION = minutesOf('16:15');
const MIN_DELAY = 120;
const MAX_DELAY = 180;

const seeds = new Map<ExchangeCode, number>(EXCHANGE_CODES.map((c) => [c, hashString(c)]));
const cache = new Map<number, number>();

/** Minutes after the local close at which a session of a non-US exchange is published. */
export function publicationDelay(exchange: ExchangeCode, day: number): number {
  return MIN_DELAY + Math.floor(u3(seeds.get(exchange)!, S.publish, day) * (MAX_DELAY - MIN_DELAY + 1));
}

/** The instant (ms) from which the bars of session `day` on `exchange` are visible. */
export function publicationInstant(exchange: ExchangeCode, day: number): number {
  const key = day * 16 + EXCHANGE_CODES.indexOf(exchange);
  let t = cache.get(key);
  if (t === undefined) {
    const ex = EXCHANGES[exchange];
    const local = exchange === 'US' ? US_PUBLICATION : minutesOf(ex.close) + publicationDelay(exchange, day);
    t = zonedInstant(ex.timezone, day, local);
    if (cache.size > 100_000) cache.clear();
    cache.set(key, t);
  }
  return t;
}

/** The last session of `exchange` whose bars are visible at instant `now`. */
export function publishedThrough(exchange: ExchangeCode, now: number): number {
  const cal = CALENDARS[EXCHANGES[exchange].calendar];
  let d = cal.onOrBefore(Math.floor(now / DAY_MS));
  while (publicationInstant(exchange, d) > now) d = cal.prev(d);
  return d;
}
