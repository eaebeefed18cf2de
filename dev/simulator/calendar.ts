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
// Each closure keeps its name ("Thanksgiving Day", "Boxing Day (substitute day)"), because
// /exchange-details lists them; it also lists a few bank holidays on which the exchange
// trades (US Columbus and Veterans Day; Ascension, Whit Monday and Corpus Christi in
// Germany) and the early-close sessions (US the day after Thanksgiving and 24 Dec; UK 24
// and 31 Dec). Early closes do not change the bars (EOD data does not show them).
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

/** The days of a year on which the market is closed (weekends aside), with their names. */
function holidaysFor(cal: CalendarId, y: number): Map<number, string> {
  const s = new Map<number, string>();
  const easter = easterSunday(y);
  const add = (n: number, name: string) => s.set(n, name);
  const fixed = (m: number, d: number, name: string) => add(dayOf(y, m, d), name);
  switch (cal) {
    case 'US': {
      const ny = dayOf(y, 1, 1);
      if (weekday(ny) === 0) add(ny + 1, "New Year's Day");
      else if (weekday(ny) !== 6) add(ny, "New Year's Day");
      add(nthWeekday(y, 1, 1, 3), 'Martin Luther King Jr. Day');
      add(nthWeekday(y, 2, 1, 3), "Washington's Birthday");
      add(easter - 2, 'Good Friday');
      add(nthWeekday(y, 5, 1, -1), 'Memorial Day');
      if (y >= 2022) add(observedUS(dayOf(y, 6, 19)), 'Juneteenth National Independence Day');
      add(observedUS(dayOf(y, 7, 4)), 'Independence Day');
      add(nthWeekday(y, 9, 1, 1), 'Labour Day'); // EODHD's spelling in its published example
      add(nthWeekday(y, 11, 4, 4), 'Thanksgiving Day');
      add(observedUS(dayOf(y, 12, 25)), 'Christmas Day');
      break;
    }
    case 'UK': {
      let ny = dayOf(y, 1, 1);
      while (isWeekend(ny)) ny++;
      add(ny, ny === dayOf(y, 1, 1) ? "New Year's Day" : "New Year's Day (substitute day)");
      add(easter - 2, 'Good Friday');
      add(easter + 1, 'Easter Monday');
      add(nthWeekday(y, 5, 1, 1), 'Early May Bank Holiday');
      add(nthWeekday(y, 5, 1, -1), 'Spring Bank Holiday');
      add(nthWeekday(y, 8, 1, -1), 'Summer Bank Holiday');
      // Christmas and Boxing Day; a weekend one is replaced by the next free weekday.
      const moved: string[] = [];
      for (const [d, name] of [
        [25, 'Christmas Day'],
        [26, 'Boxing Day'],
      ] as const) {
        const n = dayOf(y, 12, d);
        if (isWeekend(n)) moved.push(name);
        else add(n, name);
      }
      for (let n = dayOf(y, 12, 27); moved.length > 0; n++) {
        if (!isWeekend(n)) add(n, `${moved.shift()} (substitute day)`);
      }
      break;
    }
    case 'DE':
      fixed(1, 1, "New Year's Day");
      add(easter - 2, 'Good Friday');
      add(easter + 1, 'Easter Monday');
      fixed(5, 1, 'Labour Day');
      fixed(12, 24, 'Christmas Eve');
      fixed(12, 25, 'Christmas Day');
      fixed(12, 26, 'Boxing Day');
      fixed(12, 31, "New Year's Eve");
      break;
    case 'EU':
      fixed(1, 1, "New Year's Day");
      add(easter - 2, 'Good Friday');
      add(easter + 1, 'Easter Monday');
      fixed(5, 1, 'Labour Day');
      fixed(12, 25, 'Christmas Day');
      fixed(12, 26, 'Boxing Day');
      break;
    case 'CH':
      fixed(1, 1, "New Year's Day");
      fixed(1, 2, "Berchtold's Day");
      add(easter - 2, 'Good Friday');
      add(easter + 1, 'Easter Monday');
      add(easter + 39, 'Ascension Day');
      add(easter + 50, 'Whit Monday');
      fixed(5, 1, 'Labour Day');
      fixed(8, 1, 'Swiss National Day');
      fixed(12, 24, 'Christmas Eve');
      fixed(12, 25, 'Christmas Day');
      fixed(12, 26, "St. Stephen's Day");
      fixed(12, 31, "New Year's Eve");
      break;
  }
  return s;
}

/**
 * Bank holidays on which the exchange trades (only the ones we are sure of): US Columbus
 * Day and Veterans Day (listed on the date itself, when a weekday), Germany's Ascension Day,
 * Whit Monday and Corpus Christi. The UK's bank holidays all close the LSE; none elsewhere.
 */
function bankHolidaysFor(cal: CalendarId, y: number): Map<number, string> {
  const s = new Map<number, string>();
  const easter = easterSunday(y);
  if (cal === 'US') {
    s.set(nthWeekday(y, 10, 1, 2), 'Columbus Day');
    s.set(dayOf(y, 11, 11), 'Veterans Day');
  } else if (cal === 'DE') {
    s.set(easter + 39, 'Ascension Day');
    s.set(easter + 50, 'Whit Monday');
    s.set(easter + 60, 'Corpus Christi');
  }
  return s;
}

/** Sessions that close early (still trading days): US day after Thanksgiving and 24 Dec; UK 24 and 31 Dec. */
function earlyClosesFor(cal: CalendarId, y: number): Map<number, string> {
  const s = new Map<number, string>();
  if (cal === 'US') {
    s.set(nthWeekday(y, 11, 4, 4) + 1, 'Day after Thanksgiving');
    s.set(dayOf(y, 12, 24), 'Christmas Eve');
  } else if (cal === 'UK') {
    s.set(dayOf(y, 12, 24), 'Christmas Eve');
    s.set(dayOf(y, 12, 31), "New Year's Eve");
  }
  return s;
}

export interface NamedDay {
  day: number;
  name: string;
}

/**
 * Named days of a calendar in [a, b], ascending: 'closed' (weekdays the market is shut),
 * 'bank' (bank holidays on which it trades), 'early' (sessions that close early).
 */
export function namedDays(kind: 'closed' | 'bank' | 'early', cal: CalendarId, a: number, b: number): NamedDay[] {
  const out: NamedDay[] = [];
  const trading = CALENDARS[cal];
  for (let y = yearOf(a); y <= yearOf(b); y++) {
    const days =
      kind === 'closed' ? holidaysFor(cal, y) : kind === 'bank' ? bankHolidaysFor(cal, y) : earlyClosesFor(cal, y);
    for (const [day, name] of days) {
      if (day < a || day > b || isWeekend(day)) continue;
      if (kind !== 'closed' && !trading.isTradingDay(day)) continue;
      out.push({ day, name });
    }
  }
  return out.sort((x, y) => x.day - y.day);
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
  private readonly years = new Map<number, Map<number, string>>();
  // Bit cache over days: 0 unknown, 1 closed, 2 open. Covers 1970..2149.
  private readonly known = new Uint8Array(66_000);
  constructor(
    readonly id: CalendarId | 'ANY',
    private readonly members: CalendarId[],
  ) {}

  private holidays(cal: CalendarId, y: number): Map<number, string> {
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
