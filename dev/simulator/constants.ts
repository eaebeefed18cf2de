// Fixed points of the simulated world.
//
// BASE_DATE is the day on which the simulated universe is exactly the ticker files
// (21,817 active common stocks). Listings after it are synthetic new listings, file tickers
// get delisted only after it, and the price model is anchored there (a ticker trades near
// its base price on that day). It equals the default `today`, so a simulator started with
// defaults shows the files as they are.

import { parseDate } from './dates.js';

export const DEFAULT_TODAY = '2026-11-20';
/** Default simulated time of day (UTC): when the project's daily cron runs, after every exchange here has published. */
export const DEFAULT_TIME = '21:30';
export const BASE_DATE = '2026-11-20';
export const BASE_DAY = parseDate(BASE_DATE)!;
export const DEFAULT_API_KEY = 'sim-demo-key';
export const DEFAULT_PER_MINUTE_LIMIT = 1_000;
