// Offline EODHD-compatible simulator: public API.
//
// Why it exists: the pipeline, its tests and its benchmarks must run without an API key,
// without network and without spending quota, yet meet everything the real API does to
// them: real paths and parameters, JSON and CSV shapes, call costs, daily and per-minute
// limits, error codes, data quirks (gaps, flat candles, GBX, "NA" sections, stale adjusted
// prices after splits and dividends), a universe that changes with the clock, and faults
// on demand. Everything is deterministic: two simulators with the same options answer the
// same bytes, so tests can compare against `expectedHistory()`.
//
// The clock is an instant: the simulated day plus a time of day in UTC (default 21:30, when
// the project's daily cron runs). advanceTradingDays keeps the time of day; setClock moves
// to any later instant. Bars appear when their session is published (publication.ts), every
// /api answer is dated by the simulated instant, and /user lags behind a day change as
// EODHD's counter does (limits.ts).
//
// Bad data, as EODHD has it (quality.ts): bad ticks of ten kinds (BAD_TICK_KINDS) and late
// corrections of clean first prints, seeded (options `badTicks`, `corrections`: 'none' in
// the library, so that stored bars compare exactly; 'default' in the CLIs) and on demand
// (injectBadTick, injectCorrection, POST /__sim/bad-tick and /__sim/correction), each
// corrected at an instant or never, with a ground truth (badTicks, lateCorrections,
// trueHistory). expectedHistory is what the API answers now, wrong bars included. The
// 14-day fixes of ~0.2% of bars (close 0.4% off, 70% of the volume) are always on, as they
// were before the options existed, and lateCorrections lists them too.
//
// Modules: dates / calendar (trading days), clock (instants, local time), exchanges +
// universe (who is listed when), prices (bars), corporate-actions (splits, dividends,
// adjustment factors), publication (when a session's bars appear), quality (bad ticks,
// first prints and their corrections), market (what is visible on "today"), fundamentals,
// api + exchange-details (endpoint handlers), limits (quotas, /user's counter), faults,
// state (persistence), server (HTTP). main.ts is the CLI.

import path from 'node:path';
import type { ApiContext } from './api.js';
import { CALENDARS } from './calendar.js';
import { DAY_MS, dayOfInstant, fmtInstant, fmtTimeOfDay, parseInstant, parseTimeOfDay } from './clock.js';
import { DEFAULT_API_KEY, DEFAULT_PER_MINUTE_LIMIT, DEFAULT_TIME, DEFAULT_TODAY } from './constants.js';
import { CorporateActions } from './corporate-actions.js';
import { fmtDate, parseDate } from './dates.js';
import { EXCHANGE_CODES, EXCHANGES, resolveBulkExchange } from './exchanges.js';
import { checkFaultConfig, type FaultConfig, FaultInjector } from './faults.js';
import { FundamentalsBuilder } from './fundamentals.js';
import { DailyCounter, type DayCount, emptyUsage, MinuteWindow, type Usage, type UserDisplay } from './limits.js';
import { type EodBar, Market, quoteScale } from './market.js';
import { isPlanName, PLANS, type Plan, type PlanName } from './plans.js';
import {
  type BadTick,
  type BadTickKind,
  type BadTicksOption,
  type CorrectionsOption,
  type LateCorrection,
  resolveBadTicks,
  resolveCorrections,
} from './quality.js';
import { type ServerCore, startServer } from './server.js';
import { StateStore } from './state.js';
import { currencyOn, type InstrumentType, Universe } from './universe.js';

export type { FaultConfig, FaultKind } from './faults.js';
export { FAULT_KINDS } from './faults.js';
export type { DayCount, EndpointName, Usage } from './limits.js';
export type { EodBar } from './market.js';
export { PLAN_NAMES, type PlanName } from './plans.js';
export type { BadTick, BadTickKind, BadTicksOption, CorrectionsOption, LateCorrection } from './quality.js';
export { BAD_TICK_KINDS, parseBadTicksArg, parseCorrectionsArg } from './quality.js';
export type { InstrumentType } from './universe.js';

export type UniverseOption = 'sample' | 'full' | `synthetic:${number}`;

/** The largest synthetic universe: ~7x the real one, what a 150,000-asset screener needs, with room. */
export const MAX_SYNTHETIC = 1_000_000;

/** A --universe value, or what is wrong with it (one line). */
export function parseUniverse(raw: string): { mode: 'sample' | 'full'; synthetic?: number } | string {
  if (raw === 'sample' || raw === 'full') return { mode: raw };
  const m = /^synthetic:(\d+)$/.exec(raw);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || !Number.isSafeInteger(n) || n < 1000 || n > MAX_SYNTHETIC)
    return `universe must be sample, full or synthetic:N with N from 1000 to ${MAX_SYNTHETIC}, not ${raw}`;
  return { mode: 'full', synthetic: n };
}

export function isUniverseOption(raw: string): raw is UniverseOption {
  return typeof parseUniverse(raw) !== 'string';
}

export interface SimulatorOptions {
  /**
   * default 'sample' (~330 tickers spread over all files and exchange codes); 'full': all
   * 21,817; 'synthetic:N': about N generated listings over the same exchanges, each file's
   * share as in the real universe (scale tests beyond the real one)
   */
  universe?: UniverseOption;
  /** accepted api_token; default 'sim-demo-key' */
  apiKey?: string;
  /** the subscription plan: what may be fetched, and its daily limit; default 'all-in-one' */
  plan?: PlanName;
  /** calls per simulated day, cost-weighted; default the plan's (100,000; free: 20) */
  dailyLimit?: number;
  /** calls bought on top of the daily limit (/user extraLimit); default 0 */
  extraLimit?: number;
  /** requests per rolling minute of real time; default 1000 */
  perMinuteLimit?: number;
  /** simulated current date; default '2026-11-20' */
  today?: string;
  /** simulated time of day, 'HH:MM' UTC; default '21:30' (the daily cron's hour: every session of the day published) */
  time?: string;
  /**
   * /user keeps showing the last day with charged calls after the day changes, until the
   * new day's first charged request, as EODHD's counter does; default true. false: /user
   * moves to the new day at once.
   */
  staleCounter?: boolean;
  /** JSON file holding the clock and today's usage across processes (it wins over `today` and `time`) */
  stateFile?: string;
  /** folder holding data/tickers; default $SHARED_DIR or ../shared from the working directory */
  sharedDir?: string;
  port?: number;
  host?: string;
  /**
   * Seeded bad ticks (quality.ts): 'none' (default: the bars compare exactly with the
   * true ones), 'default' (1 in 20,000 eligible bars per kind: about one of each kind a
   * day over the full universe), or a rate per eligible bar by kind (sum at most 1/60).
   */
  badTicks?: BadTicksOption;
  /**
   * Late corrections of clean first prints: 'none' (default), 'default' (0.2% of bars,
   * corrected 1-5 days after publication), or { rate, maxDays? (default 5) }. The 14-day
   * fixes are on in every case.
   */
  corrections?: CorrectionsOption;
}

export interface Simulator {
  url: string;
  close(): Promise<void>;
  today(): string;
  /** The simulated instant, ISO ('2026-11-20T21:30:00.000Z'). */
  now(): string;
  /**
   * Moves the clock to an instant 'YYYY-MM-DDTHH:MM[:SS[.mmm]]Z' (any day, weekends and
   * holidays included; never backwards: that throws). A new day is a new usage day. Returns now().
   */
  setClock(at: string): string;
  /** Last session on or before the simulated day (published or not). */
  lastTradingDay(exchange?: string): string;
  /** Last session of the exchange whose bars are published at the simulated instant. */
  publishedThrough(exchange: string): string;
  /** The next trading day (of any market) at the same time of day, n times; a new usage day. */
  advanceTradingDays(n?: number): string;
  /** The current simulated day's own usage (0 calls when nothing was charged yet). */
  usage(): Usage;
  /** What /user shows: apiRequestsDate and apiRequests (may be an earlier day: staleCounter). */
  userView(): DayCount;
  /** /user shows this earlier day and count until the next charged request (as if it had been the last active day). */
  setLastActiveDay(date: string, calls: number): void;
  setFaults(f: FaultConfig): void;
  faultsInjected(): Record<string, number>;
  /**
   * What /eod answers right now (free): the published bars, first prints not yet corrected
   * and bad ticks not yet corrected included, missing ones left out.
   */
  expectedHistory(symbol: string, from?: string, to?: string): EodBar[];
  /** The published bars with their final values: no first prints, no bad ticks (missing ones there). */
  trueHistory(symbol: string, from?: string, to?: string): EodBar[];
  /**
   * A bad tick on a session of the symbol (served from the bar's publication; corrected
   * `correctedAfterDays` calendar days after it, never when null or left out). It replaces
   * injections on the same bars and any seeded bad tick within 42 sessions. Throws (one
   * line) on an unknown symbol or kind, a date that is no session of the listing, or a bar
   * the kind cannot show on (ohlc_order with high = low, ...).
   */
  injectBadTick(
    symbol: string,
    date: string,
    kind: BadTickKind,
    opts?: { correctedAfterDays?: number | null },
  ): BadTick;
  /**
   * A first print with this close (adjusted_close in proportion, high/low widened) and/or
   * volume, in the units served now, from the bar's publication until `correctedAfterDays`
   * calendar days after it. Throws (one line) as injectBadTick does.
   */
  injectCorrection(
    symbol: string,
    date: string,
    values: { close?: number; volume?: number; correctedAfterDays: number },
  ): { symbol: string; date: string; correctedOn: string };
  /** Every bad tick (seeded and injected) whose (first) date is a session in [from, to], published or not. */
  badTicks(from: string, to: string): BadTick[];
  /** Every bar in [from, to] first printed otherwise (14-day fixes, seeded, injected): first print and final values as of today. */
  lateCorrections(from: string, to: string): LateCorrection[];
  /** Active common stocks, or active listings of the given types. */
  symbols(types?: InstrumentType[]): string[];
  /** Whether the API has a fundamentals document for the symbol. */
  hasFundamentals(symbol: string): boolean;
  /** The listing's quote currency today (GBX, GBP, USD, ...), or null when unknown. */
  currencyOf(symbol: string): string | null;
  /** The listing's beta on its exchange's benchmark index (the price model's, and its fundamentals' Beta), or null when unknown. */
  betaOf(symbol: string): number | null;
  /** Listings the sample forces events on: a split, a delisting, a new listing, a currency switch. */
  anchors(): { splits: string[]; delisted: string; listed: string; currencySwitch: string };
  readonly plan: PlanName;
  /** The real ticker files, or a generated universe of their shape (no files beside the project). */
  readonly universeSource: 'files' | 'generated';
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sharedDir = opts.sharedDir ?? process.env.SHARED_DIR ?? path.resolve(process.cwd(), '..', 'shared');
  const option = parseUniverse(opts.universe ?? 'sample');
  if (typeof option === 'string') throw new Error(option);
  let today = parseDate(opts.today ?? DEFAULT_TODAY);
  if (today === null) throw new Error('today must be YYYY-MM-DD');
  const time = opts.time ?? DEFAULT_TIME;
  let timeOfDay = /^\d\d:\d\d$/.test(time) ? parseTimeOfDay(time) : null;
  if (timeOfDay === null) throw new Error(`time must be HH:MM (UTC), not ${JSON.stringify(time)}`);
  const staleCounter = opts.staleCounter ?? true;
  const apiKey = opts.apiKey ?? DEFAULT_API_KEY;
  const planName = opts.plan ?? 'all-in-one';
  if (!isPlanName(planName)) throw new Error(`plan must be one of ${Object.keys(PLANS).join(', ')}`);
  const plan: Plan = PLANS[planName];
  const dailyLimit = opts.dailyLimit ?? plan.dailyRateLimit;
  const extraLimit = opts.extraLimit ?? 0;
  if (!Number.isInteger(extraLimit) || extraLimit < 0) throw new Error('extraLimit must be a whole number >= 0');
  const perMinuteLimit = opts.perMinuteLimit ?? DEFAULT_PER_MINUTE_LIMIT;
  resolveBadTicks(opts.badTicks ?? 'none');
  resolveCorrections(opts.corrections ?? 'none');

  const store = opts.stateFile ? new StateStore(opts.stateFile) : null;
  const loaded = store?.load() ?? null;
  let usage0: Usage;
  let display: UserDisplay | undefined;
  if (loaded) {
    today = parseDate(loaded.today)!;
    if (loaded.time) timeOfDay = parseTimeOfDay(loaded.time)!;
    usage0 = loaded.usage.date === loaded.today ? loaded.usage : emptyUsage(loaded.today);
    display = loaded.userDisplay;
    // A file whose usage is of an earlier day (written before the display was kept): that
    // day was the last active one.
    const u = loaded.usage;
    if (!display && u.date < loaded.today && u.calls > 0)
      display = { lastActive: { date: u.date, calls: u.calls }, stale: staleCounter };
  } else {
    usage0 = emptyUsage(fmtDate(today));
  }

  const universe = new Universe(sharedDir, option.mode, option.synthetic);
  const actions = new CorporateActions(universe);
  const market = new Market(universe, actions, () => timeOfDay!, {
    badTicks: opts.badTicks ?? 'none',
    corrections: opts.corrections ?? 'none',
  });
  const fundamentals = new FundamentalsBuilder(market);
  const counter = new DailyCounter(dailyLimit + extraLimit, usage0, staleCounter, display);
  const window = new MinuteWindow(perMinuteLimit);
  const faults = new FaultInjector();
  universe.ensureThrough(today);

  const persisted = () => ({
    version: 1 as const,
    today: fmtDate(today!),
    time: fmtTimeOfDay(timeOfDay!),
    usage: counter.snapshot(),
    userDisplay: counter.display(),
  });
  store?.saveNow(persisted());

  /** The simulated instant (ms). */
  const nowMs = (): number => today! * DAY_MS + timeOfDay!;

  const context = (): ApiContext => ({
    universe,
    market,
    actions,
    fundamentals,
    today: today!,
    now: nowMs(),
    plan,
    user: () => ({
      apiRequests: counter.view().calls,
      apiRequestsDate: counter.view().date,
      dailyRateLimit: dailyLimit,
      extraLimit,
      subscriptionType: plan.subscriptionType,
      subscriptionMode: plan.subscriptionMode,
      availableDataFeeds: plan.availableDataFeeds,
    }),
  });

  const exchangeOf = (exchange: string) => {
    const ex = resolveBulkExchange(exchange);
    if (!ex) throw new Error(`unknown exchange ${exchange}`);
    return ex.exchange;
  };

  const lastTradingDay = (exchange = 'US'): string =>
    fmtDate(CALENDARS[EXCHANGES[exchangeOf(exchange)].calendar].onOrBefore(today!));

  const publishedThrough = (exchange: string): string => fmtDate(market.visibleThrough(exchangeOf(exchange), today!));

  /** A new simulated day: listings generated through it, a new usage day. */
  const changeDay = (day: number): void => {
    today = day;
    universe.ensureThrough(today);
    counter.newDay(fmtDate(today));
  };

  const advance = (n = 1): string => {
    if (!Number.isInteger(n) || n < 1) throw new Error('advanceTradingDays needs a positive integer');
    let day = today!;
    for (let i = 0; i < n; i++) day = CALENDARS.ANY.next(day);
    changeDay(day);
    store?.saveNow(persisted());
    return fmtDate(today!);
  };

  const setClock = (at: string): string => {
    const t = typeof at === 'string' ? parseInstant(at) : null;
    if (t === null) throw new Error(`clock must be YYYY-MM-DDTHH:MM[:SS[.mmm]]Z, not ${JSON.stringify(at)}`);
    if (t < nowMs()) throw new Error(`the clock does not go backwards: ${at} is before ${fmtInstant(nowMs())}`);
    const day = dayOfInstant(t);
    timeOfDay = t - day * DAY_MS;
    if (day !== today) changeDay(day);
    store?.saveNow(persisted());
    return fmtInstant(nowMs());
  };

  const setLastActiveDay = (date: string, calls: number): void => {
    const d = parseDate(date);
    if (d === null || d >= today!)
      throw new Error(`setLastActiveDay needs a date before ${fmtDate(today!)}, not ${JSON.stringify(date)}`);
    if (!Number.isInteger(calls) || calls < 0) throw new Error('setLastActiveDay needs calls, a whole number >= 0');
    counter.showLastActive({ date: fmtDate(d), calls });
    store?.saveNow(persisted());
  };

  const listingOf = (symbol: string) => universe.get(symbol.includes('.') ? symbol : `${symbol}.US`, today!);

  const historyOf =
    (view: 'served' | 'true') =>
    (symbol: string, from?: string, to?: string): EodBar[] => {
      const l = listingOf(symbol);
      if (!l) return [];
      const a = from ? parseDate(from) : l.listDay;
      const b = to ? parseDate(to) : today!;
      if (a === null || b === null) throw new Error('from/to must be YYYY-MM-DD');
      return market.history(l, a, b, today!, view);
    };
  const expectedHistory = historyOf('served');
  const trueHistory = historyOf('true');

  /** The listing and session day an injection names; throws the reason. */
  const target = (symbol: unknown, date: unknown) => {
    if (typeof symbol !== 'string' || !symbol) throw new Error('symbol is required (CODE.EXCHANGE)');
    const l = listingOf(symbol);
    if (!l) throw new Error(`unknown symbol ${symbol}`);
    const day = typeof date === 'string' ? parseDate(date) : null;
    if (day === null) throw new Error(`date must be YYYY-MM-DD, not ${JSON.stringify(date)}`);
    return { l, day };
  };

  const injectBadTick = (
    symbol: string,
    date: string,
    kind: BadTickKind,
    o: { correctedAfterDays?: number | null } = {},
  ) => {
    const { l, day } = target(symbol, date);
    return market.quality.injectBadTick(l, day, kind, o?.correctedAfterDays);
  };

  const injectCorrection = (
    symbol: string,
    date: string,
    values: { close?: number; volume?: number; correctedAfterDays: number },
  ) => {
    const { l, day } = target(symbol, date);
    if (!values || typeof values !== 'object')
      throw new Error('a correction needs { close?, volume?, correctedAfterDays }');
    return market.quality.injectCorrection(l, day, values, quoteScale(l, today!));
  };

  const range = (from: string, to: string): [number, number] => {
    const a = parseDate(from);
    const b = parseDate(to);
    if (a === null || b === null) throw new Error('from and to must be YYYY-MM-DD');
    if (a > b) throw new Error(`from (${from}) is after to (${to})`);
    return [a, b];
  };
  const badTicks = (from: string, to: string): BadTick[] =>
    market.quality.badTicks(universe.allMembers(today!), ...range(from, to));
  const lateCorrections = (from: string, to: string): LateCorrection[] =>
    market.quality.lateCorrections(universe.allMembers(today!), ...range(from, to), today!);

  /** Active common stocks (what exchange-symbol-list?type=common_stock lists), or of the given types. */
  const symbols = (types: InstrumentType[] = ['Common Stock']): string[] =>
    universe
      .allMembers(today!)
      .filter((l) => l.listDay <= today! && today! < l.delistDay && types.includes(l.type))
      .map((l) => l.key)
      .sort();

  const hasFundamentals = (symbol: string): boolean => {
    const l = universe.get(symbol, today!);
    return l !== undefined && fundamentals.covers(l);
  };

  const core: ServerCore = {
    apiKey,
    counter,
    window,
    faults,
    plan,
    context,
    charged: () => store?.save(persisted()),
    adminState: () => ({
      today: fmtDate(today!),
      now: fmtInstant(nowMs()),
      universe: opts.universe ?? 'sample',
      universeSource: universe.source,
      lastTradingDay: Object.fromEntries(EXCHANGE_CODES.map((c) => [c, lastTradingDay(c)])),
      publishedThrough: Object.fromEntries(EXCHANGE_CODES.map((c) => [c, publishedThrough(c)])),
      usage: counter.snapshot(),
      userView: counter.view(),
      staleCounter,
      plan: plan.name,
      limits: { dailyLimit, extraLimit, perMinuteLimit, perMinuteRemaining: window.remaining() },
      faults: faults.state(),
      dataQuality: market.quality.state(),
    }),
    advance,
    now: nowMs,
    setClock,
    setFaults: (f) => faults.set(checkFaultConfig(f)),
    expectedHistory,
    trueHistory,
    injectBadTick: (body) => {
      const b = body as { symbol?: unknown; date?: unknown; kind?: unknown; correctedAfterDays?: unknown };
      return injectBadTick(b.symbol as string, b.date as string, b.kind as BadTickKind, {
        correctedAfterDays: b.correctedAfterDays as number | null | undefined,
      });
    },
    injectCorrection: (body) => {
      const b = body as { symbol?: unknown; date?: unknown };
      return injectCorrection(
        b.symbol as string,
        b.date as string,
        body as { close?: number; volume?: number; correctedAfterDays: number },
      );
    },
    badTicks,
    lateCorrections,
    symbols,
  };

  const server = await startServer(core, opts.host ?? '127.0.0.1', opts.port ?? 0);

  return {
    url: server.url,
    close: async () => {
      await server.close();
      store?.flush();
    },
    today: () => fmtDate(today!),
    now: () => fmtInstant(nowMs()),
    setClock,
    lastTradingDay,
    publishedThrough,
    advanceTradingDays: advance,
    usage: () => counter.snapshot(),
    userView: () => counter.view(),
    setLastActiveDay,
    setFaults: (f) => core.setFaults(f),
    faultsInjected: () => faults.injected(),
    expectedHistory,
    trueHistory,
    injectBadTick,
    injectCorrection,
    badTicks,
    lateCorrections,
    symbols,
    hasFundamentals,
    currencyOf: (symbol) => {
      const l = universe.get(symbol, today!);
      return l ? currencyOn(l, today!) : null;
    },
    betaOf: (symbol) => universe.get(symbol, today!)?.params.beta ?? null,
    anchors: () => ({
      splits: universe.anchorSplits.map((a) => a.key),
      delisted: universe.anchorDelistKey,
      listed: universe.anchorListingKey,
      currencySwitch: universe.anchorCurrencyKey,
    }),
    plan: plan.name,
    universeSource: universe.source,
  };
}
