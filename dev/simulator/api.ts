// The EODHD endpoints: request parameters in, status + body + cost out.
//
// Why separate from server.ts: these handlers are pure functions of (world, today, query),
// free of sockets, auth, quotas and faults, so their answers are easy to reason about and
// identical whichever process asks. server.ts wraps them with what the real API does
// around the data (authentication, limits, headers, faults).
//
// Formats: EODHD answers CSV unless `fmt=json` on eod, eod-bulk-last-day,
// exchange-symbol-list, exchanges-list, splits, div and calendar/splits; fundamentals,
// user, calendar/dividends and exchange-details are JSON only. The CSV headers follow EODHD's.
//
// Costs (eodhd-api.md): eod 1, bulk 100 (+1 per `symbols` entry), fundamentals 10,
// exchange-symbol-list 1, exchanges-list 1, splits 1, div 1, calendar 1, exchange-details 5,
// user 0; an unknown ticker costs 1; other errors cost nothing.
//
// Bars are those published at the simulated instant (market.ts, publication.ts): /eod ends
// at the last published session, the bulk answer without a date is that session's, and a
// bulk `date=` that is no session of the exchange or is not published yet answers no rows.

import { CALENDARS } from './calendar.js';
import { type CorporateActions, splitString } from './corporate-actions.js';
import { addMonths, fmtDate, monthIndex, parseDate, weekday } from './dates.js';
import { exchangeDetails } from './exchange-details.js';
import { EXCHANGES, isExchangeCode, resolveBulkExchange } from './exchanges.js';
import { applyFilter, type FundamentalsBuilder } from './fundamentals.js';
import type { EndpointName } from './limits.js';
import { type EodBar, extendedFrom, type Market } from './market.js';
import { FREE_HISTORY_WARNING, type Plan } from './plans.js';
import { publishedThrough } from './publication.js';
import { forexHistory, indexHistory, indexOf, pairOf } from './reference.js';
import { currencyOn, type Listing, type Universe } from './universe.js';

export interface ApiContext {
  universe: Universe;
  market: Market;
  actions: CorporateActions;
  fundamentals: FundamentalsBuilder;
  today: number;
  /** the simulated instant (ms) */
  now: number;
  plan: Plan;
  user(): Record<string, unknown>;
}

export interface ApiAnswer {
  status: number;
  body: string;
  contentType: string;
  cost: number;
  /** for the `empty` fault: what an empty answer of this request looks like */
  empty: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const CSV_TYPE = 'text/csv; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

export const json = (status: number, value: unknown, cost = 0, empty = '[]'): ApiAnswer => ({
  status,
  body: JSON.stringify(value),
  contentType: JSON_TYPE,
  cost,
  empty,
});
const csv = (header: string, rows: string[], cost: number): ApiAnswer => ({
  status: 200,
  body: [header, ...rows].join('\n') + '\n',
  contentType: CSV_TYPE,
  cost,
  empty: header + '\n',
});
export const errorJson = (status: number, error: string, message: string): ApiAnswer =>
  json(status, { status, error, message }, 0, '');
export const tickerNotFound = (): ApiAnswer => ({
  status: 404,
  body: 'Ticker Not Found.',
  contentType: TEXT_TYPE,
  cost: 1,
  empty: '',
});
/** /fundamentals of a symbol EODHD has no document for: a 200, charged as a document. */
export const fundamentalsNotFound = (): ApiAnswer => json(200, { error: 'Not found' }, 10, '{}');
const badRequest = (message: string) => errorJson(400, 'Bad Request', message);

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
const row = (...vals: unknown[]) => vals.map(cell).join(',');

/** Which endpoint a path under /api names, and its argument (ticker or exchange). */
export function routeOf(pathname: string): { endpoint: EndpointName; arg: string } | null {
  const parts = pathname.split('/').filter(Boolean);
  let arg = '';
  try {
    arg = parts[1] !== undefined ? decodeURIComponent(parts[1]) : '';
  } catch {
    return null;
  }
  const [head] = parts;
  switch (head) {
    case 'eod':
      return parts.length === 2 ? { endpoint: 'eod', arg } : null;
    case 'eod-bulk-last-day':
      return parts.length === 2 ? { endpoint: 'eod-bulk-last-day', arg } : null;
    case 'fundamentals':
      return parts.length === 2 ? { endpoint: 'fundamentals', arg } : null;
    case 'exchange-symbol-list':
      return parts.length === 2 ? { endpoint: 'exchange-symbol-list', arg } : null;
    case 'exchanges-list':
      return parts.length === 1 ? { endpoint: 'exchanges-list', arg: '' } : null;
    case 'splits':
      return parts.length === 2 ? { endpoint: 'splits', arg } : null;
    case 'div':
      return parts.length === 2 ? { endpoint: 'div', arg } : null;
    case 'calendar':
      if (parts.length === 2 && parts[1] === 'splits') return { endpoint: 'calendar-splits', arg: '' };
      if (parts.length === 2 && parts[1] === 'dividends') return { endpoint: 'calendar-dividends', arg: '' };
      return null;
    case 'exchange-details':
      return parts.length === 2 ? { endpoint: 'exchange-details', arg } : null;
    case 'user':
      return parts.length === 1 ? { endpoint: 'user', arg: '' } : null;
    default:
      return null;
  }
}

/** CODE.EXCH (no suffix means US, as EODHD does). Case-insensitive. */
export function resolveListing(ctx: ApiContext, arg: string): Listing | undefined {
  const dot = arg.lastIndexOf('.');
  const key = dot < 0 ? `${arg}.US` : arg;
  return ctx.universe.get(key, ctx.today);
}

function wantsJson(q: URLSearchParams): boolean {
  return (q.get('fmt') ?? '').toLowerCase() === 'json';
}

/** Parse an optional date parameter: undefined when absent, null when invalid. */
function dateParam(q: URLSearchParams, name: string): number | undefined | null {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  return parseDate(v);
}

export function handle(
  ctx: ApiContext,
  endpoint: EndpointName,
  arg: string,
  q: URLSearchParams,
  opts: { naFundamentals?: boolean } = {},
): ApiAnswer {
  switch (endpoint) {
    case 'eod':
      return eod(ctx, arg, q);
    case 'eod-bulk-last-day':
      return bulk(ctx, arg, q);
    case 'fundamentals':
      return fundamentals(ctx, arg, q, !!opts.naFundamentals);
    case 'exchange-symbol-list':
      return symbolList(ctx, arg, q);
    case 'exchanges-list':
      return exchangesList(q);
    case 'splits':
      return splitsOf(ctx, arg, q);
    case 'div':
      return divsOf(ctx, arg, q);
    case 'calendar-splits':
      return calendarSplits(ctx, q);
    case 'calendar-dividends':
      return calendarDividends(ctx, q);
    case 'exchange-details':
      return details(ctx, arg, q);
    case 'user':
      return json(
        200,
        {
          name: 'Simulator User',
          email: 'simulator@example.invalid',
          paymentMethod: 'Not Available',
          inviteToken: null,
          inviteTokenClicked: 0,
          ...ctx.user(),
        },
        0,
        '{}',
      );
  }
}

// ------------------------------------------------------------------ eod

/**
 * Weekly (Monday-based) or monthly candles from daily ones: first open, highest high, lowest
 * low, last close and adjusted close, summed volume, dated by the period's first bar.
 */
function aggregate(bars: EodBar[], period: 'w' | 'm'): EodBar[] {
  const out: EodBar[] = [];
  let key = NaN;
  let cur: EodBar | null = null;
  for (const b of bars) {
    const d = parseDate(b.date)!;
    const k = period === 'w' ? d - ((weekday(d) + 6) % 7) : monthIndex(d);
    if (k !== key || !cur) {
      if (cur) out.push(cur);
      key = k;
      cur = { ...b };
    } else {
      cur.high = Math.max(cur.high, b.high);
      cur.low = Math.min(cur.low, b.low);
      cur.close = b.close;
      cur.adjusted_close = b.adjusted_close;
      cur.volume = Math.round((cur.volume + b.volume) * 100) / 100;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** The first day of an index's or a currency pair's history here (EODHD's go further back). */
const REFERENCE_FIRST_DAY = parseDate('2000-01-03')!;

function eod(ctx: ApiContext, arg: string, q: URLSearchParams): ApiAnswer {
  // Indices and currency pairs are no listings of the universe: their own series (reference.ts).
  const ix = indexOf(arg);
  const pair = ix ? undefined : pairOf(arg);
  const l = ix || pair ? undefined : resolveListing(ctx, arg);
  if (!l && !ix && !pair) return tickerNotFound();
  const firstDay = l ? l.listDay : REFERENCE_FIRST_DAY;
  const from = dateParam(q, 'from'),
    to = dateParam(q, 'to');
  if (from === null || to === null) return badRequest('from/to must be YYYY-MM-DD');
  const period = (q.get('period') ?? 'd').toLowerCase();
  if (!['d', 'w', 'm'].includes(period)) return badRequest('period must be d, w or m');
  const order = (q.get('order') ?? 'a').toLowerCase();
  if (!['a', 'd'].includes(order)) return badRequest('order must be a or d');
  // A plan with limited history (the free one: a year) cuts the range and says so in a
  // last element among the bars.
  const earliest = ctx.plan.historyYears === null ? null : ctx.today - Math.round(365.25 * ctx.plan.historyYears);
  const start = Math.max(from ?? firstDay, firstDay);
  const cut = earliest !== null && start < earliest && firstDay < earliest;
  const a = cut ? earliest! : start;
  const b = to ?? ctx.today;
  let bars = ix
    ? indexHistory(ix, a, b, publishedThrough(ix.home, ctx.now))
    : pair
      ? forexHistory(pair, a, Math.min(b, ctx.today), ctx.now)
      : ctx.market.history(l!, a, b, ctx.today);
  if (period !== 'd') bars = aggregate(bars, period as 'w' | 'm');
  if (order === 'd') bars.reverse();
  const filter = q.get('filter');
  if (filter) {
    const last = order === 'd' ? bars[0] : bars[bars.length - 1];
    const field = filter.replace(/^last_/, '');
    if (!filter.startsWith('last_') || !['date', 'open', 'high', 'low', 'close', 'volume'].includes(field))
      return badRequest('unsupported filter');
    return json(200, last ? (last as unknown as Record<string, unknown>)[field] : null, 1);
  }
  if (wantsJson(q)) return json(200, cut ? [...bars, { warning: FREE_HISTORY_WARNING }] : bars, 1);
  return csv(
    'Date,Open,High,Low,Close,Adjusted_close,Volume',
    bars.map((b) => row(b.date, b.open, b.high, b.low, b.close, b.adjusted_close, b.volume)),
    1,
  );
}

// ------------------------------------------------------------------ bulk

function bulk(ctx: ApiContext, arg: string, q: URLSearchParams): ApiAnswer {
  const ex = resolveBulkExchange(arg);
  if (!ex) return errorJson(404, 'Not Found', 'Exchange Not Found');
  const type = (q.get('type') ?? 'eod').toLowerCase();
  if (!['eod', 'splits', 'dividends'].includes(type)) return badRequest('type must be eod, splits or dividends');
  const date = dateParam(q, 'date');
  if (date === null) return badRequest('date must be YYYY-MM-DD');
  const cal = CALENDARS[EXCHANGES[ex.exchange].calendar];
  const today = ctx.today;
  const asJson = wantsJson(q);

  if (type === 'splits' || type === 'dividends') {
    const day = date === undefined ? cal.onOrBefore(today) : Math.min(date, today);
    const listings = ctx.universe.activeOn(ex.exchange, day, today).filter((l) => !ex.venue || l.venue === ex.venue);
    if (type === 'splits') {
      const rows: Array<{ code: string; exchange: string; date: string; split: string }> = [];
      for (const l of listings)
        for (const s of ctx.actions.splits(l))
          if (s.day === day)
            rows.push({ code: l.code, exchange: ex.exchange, date: fmtDate(day), split: splitString(s) });
      if (asJson) return json(200, rows, 100);
      return csv(
        'Code,Ex,Date,Split',
        rows.map((r) => row(r.code, r.exchange, r.date, r.split)),
        100,
      );
    }
    const rows = [];
    for (const l of listings) {
      for (const d of ctx.actions.dividendsBetween(l, day, day)) {
        const adj = ctx.actions.splitFactorBetween(l, d.day, today);
        rows.push({
          code: l.code,
          exchange: ex.exchange,
          date: fmtDate(d.day),
          dividend: roundDiv(d.amount * adj),
          currency: d.currency,
          declarationDate: d.declarationDay === null ? null : fmtDate(d.declarationDay),
          recordDate: d.recordDay === null ? null : fmtDate(d.recordDay),
          paymentDate: d.paymentDay === null ? null : fmtDate(d.paymentDay),
          period: d.period,
          unadjustedValue: d.amount,
        });
      }
    }
    if (asJson) return json(200, rows, 100);
    return csv(
      'Code,Ex,Date,Dividend,Currency,DeclarationDate,RecordDate,PaymentDate,Period,UnadjustedValue',
      rows.map((r) =>
        row(
          r.code,
          r.exchange,
          r.date,
          r.dividend,
          r.currency,
          r.declarationDate,
          r.recordDate,
          r.paymentDate,
          r.period,
          r.unadjustedValue,
        ),
      ),
      100,
    );
  }

  // eod: without a date, the last published session; with one, that day's rows, which are
  // none when it is no session of the exchange (weekend, holiday) or not published yet.
  const day = date ?? ctx.market.visibleThrough(ex.exchange, today);
  const symbolsParam = q.get('symbols');
  let codes: Set<string> | undefined;
  let cost = 100;
  if (symbolsParam !== null && symbolsParam.trim() !== '') {
    const list = symbolsParam
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    cost += list.length;
    codes = new Set(
      list.map((s) => {
        const dot = s.lastIndexOf('.');
        return (dot > 0 ? s.slice(0, dot) : s).toUpperCase();
      }),
    );
  }
  const rows = ctx.market.bulk(ex.exchange, ex.venue, day, today, codes);
  const extended = asJson && (q.get('filter') ?? '').toLowerCase() === 'extended';
  if (extended) {
    // the instant and the injections too: first prints and bad ticks change with both
    const memoKey = `extended|${ex.exchange}|${ex.venue}|${day}|${ctx.now}|${ctx.market.quality.version}|${codes ? [...codes].join(',') : ''}`;
    const out = ctx.market.memo(memoKey, () =>
      rows.map(({ l, bar }) => {
        const hist = ctx.market.history(l, day - 370, day, today);
        const x = extendedFrom(hist.length ? hist : [bar]);
        return {
          code: l.code,
          name: l.name,
          type: 'Common Stock',
          exchange_short_name: ex.exchange,
          date: bar.date,
          MarketCapitalization: Math.round((ctx.market.sharesOn(l, day) * bar.close) / l.params.major),
          Beta: l.params.beta,
          open: bar.open,
          high: bar.high,
          low: bar.low,
          close: bar.close,
          adjusted_close: bar.adjusted_close,
          volume: bar.volume,
          ...x,
        };
      }),
    );
    return json(200, out, cost);
  }
  if (asJson) {
    return json(
      200,
      rows.map(({ l, bar }) => ({
        code: l.code,
        exchange_short_name: ex.exchange,
        date: bar.date,
        open: bar.open,
        high: bar.high,
        low: bar.low,
        close: bar.close,
        adjusted_close: bar.adjusted_close,
        volume: bar.volume,
      })),
      cost,
    );
  }
  return csv(
    'Code,Ex,Date,Open,High,Low,Close,Adjusted_close,Volume',
    rows.map(({ l, bar }) =>
      row(l.code, ex.exchange, bar.date, bar.open, bar.high, bar.low, bar.close, bar.adjusted_close, bar.volume),
    ),
    cost,
  );
}

function roundDiv(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

// ------------------------------------------------------------------ fundamentals

function fundamentals(ctx: ApiContext, arg: string, q: URLSearchParams, na: boolean): ApiAnswer {
  const l = resolveListing(ctx, arg);
  // Unknown, or a listing EODHD has prices for but no document (warrants, units, rights,
  // renamed `_old` codes): a 200 whose body is an error, charged as a document.
  if (!l || !ctx.fundamentals.covers(l)) return fundamentalsNotFound();
  const doc = na ? ctx.fundamentals.buildNA(l, ctx.today) : ctx.fundamentals.build(l, ctx.today);
  const filter = q.get('filter');
  if (filter) {
    const v = applyFilter(doc, filter);
    if (v === undefined) return errorJson(404, 'Not Found', 'Data not found for this filter');
    return json(200, v, 10, '{}');
  }
  return json(200, doc, 10, '{}');
}

// ------------------------------------------------------------------ lists

function symbolList(ctx: ApiContext, arg: string, q: URLSearchParams): ApiAnswer {
  const code = arg.toUpperCase();
  if (!isExchangeCode(code)) return errorJson(404, 'Not Found', 'Exchange Not Found');
  const type = (q.get('type') ?? '').toLowerCase();
  const today = ctx.today;
  // delisted=1 gives the delisted tickers instead of the listed ones (EODHD's delisted
  // guide: IsDelisted is always true there), each marked so; without it, the listed ones.
  const delisted = q.get('delisted') === '1';
  const wanted = TYPE_FILTER[type];
  if (type && !wanted) return badRequest('type must be common_stock, preferred_stock, stock, etf or fund');
  const listings = ctx.universe
    .listings(code, today)
    .filter((l) => l.listDay <= today && today >= l.delistDay === delisted && (!wanted || wanted.includes(l.type)));
  const rows = listings.map((l) => ({
    Code: l.code,
    Name: l.name,
    Country: l.country,
    Exchange: l.venue,
    Currency: currencyOn(l, today),
    Type: l.type,
    Isin: l.isin,
    ...(delisted ? { IsDelisted: true } : {}),
  }));
  if (wantsJson(q)) return json(200, rows, 1);
  return csv(
    'Code,Name,Country,Exchange,Currency,Type,Isin',
    rows.map((r) => row(r.Code, r.Name, r.Country, r.Exchange, r.Currency, r.Type, r.Isin)),
    1,
  );
}

/** exchange-symbol-list's `type=`: which instrument types it selects (no preferred stocks here). */
const TYPE_FILTER: Record<string, string[]> = {
  common_stock: ['Common Stock'],
  stock: ['Common Stock'],
  preferred_stock: [],
  etf: ['ETF'],
  fund: ['FUND'],
};

function exchangesList(q: URLSearchParams): ApiAnswer {
  const rows = Object.values(EXCHANGES).map((e) => ({
    Name: e.name,
    Code: e.code,
    OperatingMIC: e.operatingMIC,
    Country: e.country,
    Currency: e.currency,
    CountryISO2: e.countryISO2,
    CountryISO3: e.countryISO3,
  }));
  if (wantsJson(q)) return json(200, rows, 1);
  return csv(
    'Name,Code,OperatingMIC,Country,Currency,CountryISO2,CountryISO3',
    rows.map((r) => row(r.Name, r.Code, r.OperatingMIC, r.Country, r.Currency, r.CountryISO2, r.CountryISO3)),
    1,
  );
}

// ------------------------------------------------------------------ exchange details

/**
 * /exchange-details/{CODE}: holidays in [from, to] (default: today -/+ 6 months, at most 10
 * years). JSON whatever `fmt` says: EODHD defaults many endpoints to CSV, but this answer
 * is nested (hours, holidays keyed by index) and has no CSV form.
 */
function details(ctx: ApiContext, arg: string, q: URLSearchParams): ApiAnswer {
  const code = arg.toUpperCase();
  if (!isExchangeCode(code)) return errorJson(404, 'Not Found', 'Exchange Not Found');
  const from = dateParam(q, 'from'),
    to = dateParam(q, 'to');
  if (from === null || to === null) return badRequest('from/to must be YYYY-MM-DD');
  const a = from ?? addMonths(ctx.today, -6);
  const b = to ?? addMonths(ctx.today, 6);
  if (a > b) return badRequest('from must not be after to');
  if (b > addMonths(a, 120)) return badRequest('from/to may span 10 years at most');
  return json(200, exchangeDetails(ctx, code, a, b), 5, '{}');
}

// ------------------------------------------------------------------ one ticker's actions

function rangeOf(ctx: ApiContext, l: Listing, q: URLSearchParams): [number, number] | null {
  const from = dateParam(q, 'from'),
    to = dateParam(q, 'to');
  if (from === null || to === null) return null;
  return [from ?? l.listDay, Math.min(to ?? ctx.today, ctx.today)];
}

function splitsOf(ctx: ApiContext, arg: string, q: URLSearchParams): ApiAnswer {
  const l = resolveListing(ctx, arg);
  if (!l) return tickerNotFound();
  const r = rangeOf(ctx, l, q);
  if (!r) return badRequest('from/to must be YYYY-MM-DD');
  const rows = ctx.actions
    .splits(l)
    .filter((s) => s.day >= r[0] && s.day <= r[1])
    .map((s) => ({ date: fmtDate(s.day), split: splitString(s) }));
  if (wantsJson(q)) return json(200, rows, 1);
  return csv(
    'Date,Stock Splits',
    rows.map((s) => row(s.date, s.split)),
    1,
  );
}

function divsOf(ctx: ApiContext, arg: string, q: URLSearchParams): ApiAnswer {
  const l = resolveListing(ctx, arg);
  if (!l) return tickerNotFound();
  const r = rangeOf(ctx, l, q);
  if (!r) return badRequest('from/to must be YYYY-MM-DD');
  const rows = ctx.actions.dividendsBetween(l, r[0], r[1]).map((d) => ({
    date: fmtDate(d.day),
    declarationDate: d.declarationDay === null ? null : fmtDate(d.declarationDay),
    recordDate: d.recordDay === null ? null : fmtDate(d.recordDay),
    paymentDate: d.paymentDay === null ? null : fmtDate(d.paymentDay),
    period: d.period,
    value: roundDiv(d.amount * ctx.actions.splitFactorBetween(l, d.day, ctx.today)),
    unadjustedValue: d.amount,
    currency: d.currency,
  }));
  if (wantsJson(q)) return json(200, rows, 1);
  return csv(
    'Date,Dividends',
    rows.map((d) => row(d.date, d.value)),
    1,
  );
}

// ------------------------------------------------------------------ calendars

function calendarSplits(ctx: ApiContext, q: URLSearchParams): ApiAnswer {
  const from = dateParam(q, 'from'),
    to = dateParam(q, 'to');
  if (from === null || to === null) return badRequest('from/to must be YYYY-MM-DD');
  const a = from ?? ctx.today,
    b = to ?? ctx.today + 7;
  const out: Array<{
    code: string;
    split_date: string;
    optionable: 'Y' | 'N';
    old_shares: number;
    new_shares: number;
    _d: number;
  }> = [];
  if (b >= a) {
    for (const l of ctx.universe.allMembers(ctx.today)) {
      for (const s of ctx.actions.splits(l)) {
        if (s.day < a || s.day > b || s.announceDay > ctx.today || s.day < l.listDay || s.day >= l.delistDay) continue;
        out.push({
          code: l.key,
          split_date: fmtDate(s.day),
          optionable: s.optionable ? 'Y' : 'N',
          old_shares: s.oldShares,
          new_shares: s.newShares,
          _d: s.day,
        });
      }
    }
  }
  out.sort((x, y) => x._d - y._d || (x.code < y.code ? -1 : 1));
  const splits = out.map(({ _d, ...s }) => s);
  if (wantsJson(q))
    return json(
      200,
      { type: 'Splits', description: 'Historical and upcoming splits', from: fmtDate(a), to: fmtDate(b), splits },
      1,
      '{}',
    );
  return csv(
    'Code,Split_date,Optionable,Old_shares,New_shares',
    splits.map((s) => row(s.code, s.split_date, s.optionable, s.old_shares, s.new_shares)),
    1,
  );
}

function calendarDividends(ctx: ApiContext, q: URLSearchParams): ApiAnswer {
  const eq = q.get('filter[date_eq]');
  const symbol = q.get('filter[symbol]');
  const errors: Record<string, string[]> = {};
  if (!eq && !symbol) {
    errors.filter = ['The filter field is required.'];
    errors['filter.date_eq'] = ['The filter.date eq field is required when filter.symbol is not present.'];
  }
  const dEq = eq ? parseDate(eq) : undefined;
  if (eq && dEq === null) errors['filter.date_eq'] = ['The filter.date eq is not a valid date.'];
  const dFrom = dateParam(q, 'filter[date_from]'),
    dTo = dateParam(q, 'filter[date_to]');
  if (dFrom === null) errors['filter.date_from'] = ['The filter.date from is not a valid date.'];
  if (dTo === null) errors['filter.date_to'] = ['The filter.date to is not a valid date.'];
  const limitRaw = q.get('page[limit]'),
    offsetRaw = q.get('page[offset]');
  const limit = limitRaw === null ? 1000 : Number(limitRaw);
  const offset = offsetRaw === null ? 0 : Number(offsetRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10000)
    errors['page.limit'] = ['The page.limit must be between 1 and 10000.'];
  if (!Number.isInteger(offset) || offset < 0 || offset > 1_000_000)
    errors['page.offset'] = ['The page.offset must be between 0 and 1000000.'];
  if (Object.keys(errors).length) return json(422, { errors }, 0, '{}');

  const today = ctx.today;
  const lo = Math.max(dEq ?? -Infinity, dFrom ?? -Infinity);
  const hi = Math.min(dEq ?? Infinity, dTo ?? Infinity);
  const items: Array<{ date: string; symbol: string }> = [];
  const collect = (l: Listing, a: number, b: number) => {
    for (const d of ctx.actions.dividendsBetween(l, a, b)) {
      if (d.knownDay <= today) items.push({ date: fmtDate(d.day), symbol: l.key });
    }
  };
  if (symbol) {
    const l = resolveListing(ctx, symbol);
    if (l) collect(l, Number.isFinite(lo) ? lo : l.listDay, Number.isFinite(hi) ? hi : today + 120);
  } else if (dEq !== undefined && dEq !== null) {
    for (const l of ctx.universe.allMembers(today)) {
      if (l.listDay <= dEq && dEq < l.delistDay) collect(l, dEq, dEq);
    }
  }
  items.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.symbol < b.symbol ? -1 : 1));
  const page = items.slice(offset, offset + limit);
  const link = (off: number) => {
    const p = new URLSearchParams();
    for (const [k, v] of q) if (k !== 'api_token' && k !== 'page[offset]') p.append(k, v);
    p.set('page[offset]', String(off));
    return `/api/calendar/dividends?${p.toString()}`;
  };
  return json(
    200,
    {
      meta: { total: items.length, limit, offset },
      data: page,
      links: { self: link(offset), next: offset + limit < items.length ? link(offset + limit) : null },
    },
    1,
    '{}',
  );
}
