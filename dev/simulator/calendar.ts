// Trading calendars.
//
// Why per-exchange calendars: the pipeline must cope with one exchange being closed while
// others trade (Thanksgiving in New York is a normal Thursday in Frankfurt; Boxing Day is a
// holiday in London and Zurich but not in New York). A single shared calendar would hide
// exactly the bugs we want the simulator to expose.
//
// The rules are a small fixed set per market, computed for any year (Easter by the
// Gregorian computus), not a list of dates that runs out:
//   US (NYSE/NASDAQ): New Year (Sun -> Mon, Sat -> none), Martin Luther King Day (3rd Mon Jan),
//       Presidents Day (3rd Mon Feb), Good Friday, Memorial Day (last Mon May),
//       Juneteenth (from 2022), Independence Day, Labor Day (1st Mon Sep),
//       Thanksgiving (4th Thu Nov), Christmas; Sat -> Fri, Sun -> Mon for the fixed dates.
//   UK (LSE): New Year, Good Friday, Easter Monday, Early May (1st Mon May), Spring bank
//       holiday (last Mon May), Summer bank holiday (last Mon Aug), Christmas, Boxing Day,
//       with weekend substitutes.
//   DE (F, XETRA): New Year, Good Friday, Easter Monday, 1 May, 24, 25, 26 and 31 Dec.
//   EU (PA, AS, BR, LS, MC): New Year, Good Friday, Easter Monday, 1 May, 25 and 26 Dec.
//   CH (SW): New Year, 2 Jan, Good Friday, Easter Monday, Ascension, Whit Monday, 1 May,
//       1 Aug, 24, 25, 26 and 31 Dec.
// Half days are not modelled (EOD data does not show them).
//
// "ANY" is the union (a weekday on which at least one market trades): the simulated clock
// advances by it, like a daily cron that runs every business day.

import { dayOf, isWeekend, weekday, yearOf } from './dates.js';

export type CalendarId = 'US' | 'UK' | 'DE' | 'EU' | 'CH';

function easterSunday(y: number): number {
  const a = y % 19,
    b = Math.floor(y / 100),
    c = y % 100;
  const d = Math.floor(b / 4),
    e = b % 4,
    f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3),
    h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4),
    k = c % 4,
    l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31),
    day = ((h + l - 7 * m + 114) % 31) + 1;
  return dayOf(y, month, day);
}

/** n-th (1-based) given weekday of a month; n = -1 for the last one. */
function nthWeekday(y: number, m: number, wd: number, n: number): number {
  if (n > 0) {
    const first = dayOf(y, m, 1);
    return first + ((wd - weekday(first) + 7) % 7) + (n - 1) * 7;
  }
  const last = dayOf(y, m + 1, 1) - 1;
  return last - ((weekday(last) - wd + 7) % 7);
}

/** US rule for fixed-date holidays: Saturday -> Friday, Sunday -> Monday. */
function observedUS(n: number): number {
  const w = weekday(n);
  return w === 6 ? n - 1 : w === 0 ? n + 1 : n;
}

function holidaysFor(cal: CalendarId, y: number): Set<number> {
  const s = new Set<number>();
  const easter = easterSunday(y);
  const fixed = (m: number, d: number) => s.add(dayOf(y, m, d));
  switch (cal) {
    case 'US': {
      const ny = dayOf(y, 1, 1);
      if (weekday(ny) === 0) s.add(ny + 1);
      else if (weekday(ny) !== 6) s.add(ny);
      s.add(nthWeekday(y, 1, 1, 3));
      s.add(nthWeekday(y, 2, 1, 3));
      s.add(easter - 2);
      s.add(nthWeekday(y, 5, 1, -1));
      if (y >= 2022) s.add(observedUS(dayOf(y, 6, 19)));
      s.add(observedUS(dayOf(y, 7, 4)));
      s.add(nthWeekday(y, 9, 1, 1));
      s.add(nthWeekday(y, 11, 4, 4));
      s.add(observedUS(dayOf(y, 12, 25)));
      break;
    }
    case 'UK': {
      let ny = dayOf(y, 1, 1);
      while (isWeekend(ny)) ny++;
      s.add(ny);
      s.add(easter - 2);
      s.add(easter + 1);
      s.add(nthWeekday(y, 5, 1, 1));
      s.add(nthWeekday(y, 5, 1, -1));
      s.add(nthWeekday(y, 8, 1, -1));
      // Christmas and Boxing Day; a weekend one is replaced by the next free weekday.
      let extra = 0;
      for (const d of [25, 26]) {
        const n = dayOf(y, 12, d);
        if (isWeekend(n)) extra++;
        else s.add(n);
      }
      let n = dayOf(y, 12, 27);
      while (extra > 0) {
        if (!isWeekend(n)) {
          s.add(n);
          extra--;
        }
        n++;
      }
      break;
    }
    case 'DE':
      fixed(1, 1);
      s.add(easter - 2);
      s.add(easter + 1);
      fixed(5, 1);
      fixed(12, 24);
      fixed(12, 25);
      fixed(12, 26);
      fixed(12, 31);
      break;
    case 'EU':
      fixed(1, 1);
      s.add(easter - 2);
      s.add(easter + 1);
      fixed(5, 1);
      fixed(12, 25);
      fixed(12, 26);
      break;
    case 'CH':
      fixed(1, 1);
      fixed(1, 2);
      s.add(easter - 2);
      s.add(easter + 1);
      s.add(easter + 39);
      s.add(easter + 50);
      fixed(5, 1);
      fixed(8, 1);
      fixed(12, 24);
      fixed(12, 25);
      fixed(12, 26);
      fixed(12, 31);
      break;
  }
  return s;
}

export interface TradingCalendar {
  readonly id: CalendarId | 'ANY';
  isTradingDay(n: number): boolean;
  /** Latest trading day <= n. */
  onOrBefore(n: number): number;
  /** Latest trading day < n. */
  prev(n: number): number;
  /** Earliest trading day > n. */
  next(n: number): number;
  /** Earliest trading day >= n. */
  onOrAfter(n: number): number;
}

class RuleCalendar implements TradingCalendar {
  private readonly years = new Map<number, Set<number>>();
  // Bit cache over days: 0 unknown, 1 closed, 2 open. Covers 1970..2149.
  private readonly known = new Uint8Array(66_000);
  constructor(
    readonly id: CalendarId | 'ANY',
    private readonly members: CalendarId[],
  ) {}

  private holidays(cal: CalendarId, y: number): Set<number> {
    const key = y * 8 + ['US', 'UK', 'DE', 'EU', 'CH'].indexOf(cal);
    let s = this.years.get(key);
    if (!s) {
      s = holidaysFor(cal, y);
      this.years.set(key, s);
    }
    return s;
  }

  isTradingDay(n: number): boolean {
    const k = n >= 0 && n < this.known.length ? this.known[n] : 0;
    if (k) return k === 2;
    let open = false;
    if (!isWeekend(n)) {
      const y = yearOf(n);
      for (const c of this.members) {
        if (!this.holidays(c, y).has(n)) {
          open = true;
          break;
        }
      }
    }
    if (n >= 0 && n < this.known.length) this.known[n] = open ? 2 : 1;
    return open;
  }
  onOrBefore(n: number): number {
    while (!this.isTradingDay(n)) n--;
    return n;
  }
  prev(n: number): number {
    return this.onOrBefore(n - 1);
  }
  onOrAfter(n: number): number {
    while (!this.isTradingDay(n)) n++;
    return n;
  }
  next(n: number): number {
    return this.onOrAfter(n + 1);
  }
}

export const CALENDARS: Record<CalendarId | 'ANY', TradingCalendar> = {
  US: new RuleCalendar('US', ['US']),
  UK: new RuleCalendar('UK', ['UK']),
  DE: new RuleCalendar('DE', ['DE']),
  EU: new RuleCalendar('EU', ['EU']),
  CH: new RuleCalendar('CH', ['CH']),
  ANY: new RuleCalendar('ANY', ['US', 'UK', 'DE', 'EU', 'CH']),
};

/** Number of trading days in (a, b] of a calendar (small ranges only). */
export function tradingDaysBetween(cal: TradingCalendar, a: number, b: number): number {
  let c = 0;
  for (let n = a + 1; n <= b; n++) if (cal.isTradingDay(n)) c++;
  return c;
}
