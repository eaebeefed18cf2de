// EODHD subscription plans: what a key may fetch, how much of it, and how /user describes it.
//
// Why: a user's first day with a real key is decided by the plan, not by the data. The
// free plan allows 20 calls a day and one year of end-of-day history (its answers carry a
// warning row saying so); an EOD-only plan has prices, bulk and the per-ticker splits and
// dividends but no fundamentals, no calendars and no exchange details; the all-in-one plan
// has everything.
// Endpoints outside the plan answer 403 with EODHD's JSON error body, free of charge.
// `/user` lists the plan's data feeds by display names that EODHD does not document, so
// the pipeline may take them only as a hint: these names follow the published example.

import type { EndpointName } from './limits.js';

export const PLAN_NAMES = ['free', 'eod-only', 'all-in-one'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

export interface Plan {
  name: PlanName;
  subscriptionType: string;
  subscriptionMode: string;
  dailyRateLimit: number;
  availableDataFeeds: string[];
  /** Endpoints the plan answers; the others get 403. */
  endpoints: ReadonlySet<EndpointName>;
  /** Years of end-of-day history the plan serves (null: all); beyond them the answer is cut and carries a warning row. */
  historyYears: number | null;
}

const EOD_FEEDS = [
  'EOD Historical Data',
  'Exchanges List API',
  'Dividends Data Feed',
  'Split Data Feed',
  'Bulk Splits and Dividends API',
  'dividends',
];

export const PLANS: Record<PlanName, Plan> = {
  free: {
    name: 'free',
    subscriptionType: 'free',
    subscriptionMode: 'free',
    dailyRateLimit: 20,
    availableDataFeeds: ['EOD Historical Data', 'Exchanges List API'],
    endpoints: new Set<EndpointName>(['eod', 'exchange-symbol-list', 'exchanges-list', 'user']),
    historyYears: 1,
  },
  'eod-only': {
    name: 'eod-only',
    subscriptionType: 'monthly',
    subscriptionMode: 'paid',
    dailyRateLimit: 100_000,
    availableDataFeeds: EOD_FEEDS,
    endpoints: new Set<EndpointName>([
      'eod',
      'eod-bulk-last-day',
      'exchange-symbol-list',
      'exchanges-list',
      'splits',
      'div',
      'user',
    ]),
    historyYears: null,
  },
  'all-in-one': {
    name: 'all-in-one',
    subscriptionType: 'monthly',
    subscriptionMode: 'paid',
    dailyRateLimit: 100_000,
    availableDataFeeds: [
      ...EOD_FEEDS,
      'Fundamental Data Feed',
      'Calendar Data Feed',
      'News API',
      'Search API',
      'Live (delayed) Data API',
      'Technical Indicators API',
    ],
    endpoints: new Set<EndpointName>([
      'eod',
      'eod-bulk-last-day',
      'fundamentals',
      'exchange-symbol-list',
      'exchanges-list',
      'splits',
      'div',
      'calendar-splits',
      'calendar-dividends',
      'exchange-details',
      'user',
    ]),
    historyYears: null,
  },
};

export function isPlanName(v: unknown): v is PlanName {
  return typeof v === 'string' && (PLAN_NAMES as readonly string[]).includes(v);
}

/** The free plan's warning, as its answers carry it in a last element among the bars. */
export const FREE_HISTORY_WARNING = 'Data is limited by one year as you have free subscription.';

/** EODHD's 403 body for an endpoint the plan does not include. */
export const NOT_IN_PLAN_ERROR =
  'You are not authorized to use this API endpoint with your current subscription. Please upgrade your plan.';
