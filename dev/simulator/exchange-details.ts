// /exchange-details/{CODE}: an exchange's hours, holidays, early closes and ticker counts.
//
// Why: a pipeline can ask the API (5 calls) whether an exchange trades on a day instead of
// keeping its own holiday tables, and whether it is open now. The answer must agree with
// everything else the simulator serves: its holidays are the calendar's closures (a day
// listed "official" has no bars), its "bank" holidays are trading days, isOpen and the
// UTC hours follow the simulated instant and the zone's daylight saving, and the ticker
// counts are the universe's.
//
// Shape (EODHD's documented example): Name, Code, OperatingMIC, Country, Currency,
// Timezone, isOpen, TradingHours {Open, Close, OpenUTC, CloseUTC, WorkingDays},
// ExchangeHolidays and ExchangeEarlyCloseDays as objects keyed "0", "1", ... in date order
// ({Holiday, Date, Type}), ActiveTickers, PreviousDayUpdatedTickers, UpdatedTickers.

import type { ApiContext } from './api.js';
import { CALENDARS, type NamedDay, namedDays } from './calendar.js';
import { DAY_MS, fmtMinutes, localTime, minutesOf, zonedInstant } from './clock.js';
import { addMonths, fmtDate } from './dates.js';
import { EXCHANGES, type ExchangeCode } from './exchanges.js';

type Holiday = { Holiday: string; Date: string; Type: 'official' | 'bank' };

/** An object keyed "0", "1", ... as EODHD sends lists in this answer. */
function keyed(days: Array<NamedDay & { type: Holiday['Type'] }>): Record<string, Holiday> {
  const out: Record<string, Holiday> = {};
  days.forEach((d, i) => {
    out[String(i)] = { Holiday: d.name, Date: fmtDate(d.day), Type: d.type };
  });
  return out;
}

/** The answer for a known exchange and a holiday range [from, to] (day numbers, checked by the caller). */
export function exchangeDetails(
  ctx: Pick<ApiContext, 'universe' | 'market' | 'today' | 'now'>,
  code: ExchangeCode,
  from: number,
  to: number,
): Record<string, unknown> {
  const ex = EXCHANGES[code];
  const cal = CALENDARS[ex.calendar];
  const open = minutesOf(ex.open);
  const close = minutesOf(ex.close);
  // Local hours in UTC on the simulated day (daylight saving moves them).
  const inUtc = (minutes: number) =>
    fmtMinutes(Math.round((zonedInstant(ex.timezone, ctx.today, minutes) - ctx.today * DAY_MS) / 60_000));
  const local = localTime(ex.timezone, ctx.now);
  const isOpen = cal.isTradingDay(local.day) && local.minutes >= open && local.minutes < close;

  const holidays = [
    ...namedDays('closed', ex.calendar, from, to).map((d) => ({ ...d, type: 'official' as const })),
    ...namedDays('bank', ex.calendar, from, to).map((d) => ({ ...d, type: 'bank' as const })),
  ].sort((a, b) => a.day - b.day);
  const early = namedDays('early', ex.calendar, from, to).map((d) => ({ ...d, type: 'official' as const }));

  // ActiveTickers is approximated from listing dates (listed, and not delisted more than
  // two months ago), not from bars; the updated counts are exact: the listings with a
  // published bar of the day, what the bulk answer of that day would hold.
  const since = addMonths(ctx.today, -2);
  let active = 0;
  for (const l of ctx.universe.listings(code, ctx.today)) if (l.listDay <= ctx.today && l.delistDay > since) active++;

  return {
    Name: ex.name,
    Code: ex.code,
    OperatingMIC: ex.operatingMIC,
    Country: ex.country,
    Currency: ex.currency,
    Timezone: ex.timezone,
    isOpen,
    TradingHours: {
      Open: fmtMinutes(open),
      Close: fmtMinutes(close),
      OpenUTC: inUtc(open),
      CloseUTC: inUtc(close),
      WorkingDays: 'Mon,Tue,Wed,Thu,Fri',
    },
    ExchangeHolidays: keyed(holidays),
    ExchangeEarlyCloseDays: keyed(early),
    ActiveTickers: active,
    PreviousDayUpdatedTickers: ctx.market.barCount(code, cal.prev(ctx.today), ctx.today),
    UpdatedTickers: ctx.market.barCount(code, ctx.today, ctx.today),
  };
}
