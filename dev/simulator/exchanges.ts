// The exchanges the pipeline covers, as EODHD names them.
//
// Why a table: exchange codes, countries, currencies, calendars, time zones and trading
// hours are referenced by the universe (what a listing looks like), the price model
// (currency levels, GBX), the calendar (holidays), the publication clock (when a day's bars
// appear) and the API (exchanges-list, exchange-details, 404 for unknown codes). Keeping
// them in one place keeps those answers consistent with each other.

import type { CalendarId } from './calendar.js';

export type ExchangeCode = 'US' | 'LSE' | 'F' | 'XETRA' | 'PA' | 'AS' | 'BR' | 'LS' | 'MC' | 'SW';
export type FileId = 'nyse' | 'nasdaq' | 'lse' | 'frankfurt' | 'xetra' | 'euronext' | 'bme' | 'six';

export interface ExchangeInfo {
  code: ExchangeCode;
  name: string;
  country: string; // as exchange-symbol-list writes it ("USA", "UK", ...)
  countryISO2: string;
  countryISO3: string;
  currency: string; // the exchange's currency (LSE listings are mostly quoted in GBX)
  operatingMIC: string;
  calendar: CalendarId;
  /** IANA zone of the exchange's local time (hours, publication, isOpen) */
  timezone: string;
  /** regular session, local 'HH:MM' */
  open: string;
  close: string;
}

export const EXCHANGES: Record<ExchangeCode, ExchangeInfo> = {
  US: {
    code: 'US',
    name: 'USA Stocks',
    country: 'USA',
    countryISO2: 'US',
    countryISO3: 'USA',
    currency: 'USD',
    operatingMIC: 'XNAS, XNYS',
    calendar: 'US',
    timezone: 'America/New_York',
    open: '09:30',
    close: '16:00',
  },
  LSE: {
    code: 'LSE',
    name: 'London Exchange',
    country: 'UK',
    countryISO2: 'GB',
    countryISO3: 'GBR',
    currency: 'GBP',
    operatingMIC: 'XLON',
    calendar: 'UK',
    timezone: 'Europe/London',
    open: '08:00',
    close: '16:30',
  },
  F: {
    code: 'F',
    name: 'Frankfurt Exchange',
    country: 'Germany',
    countryISO2: 'DE',
    countryISO3: 'DEU',
    currency: 'EUR',
    operatingMIC: 'XFRA',
    calendar: 'DE',
    timezone: 'Europe/Berlin',
    open: '09:00',
    close: '17:30',
  },
  XETRA: {
    code: 'XETRA',
    name: 'XETRA Stock Exchange',
    country: 'Germany',
    countryISO2: 'DE',
    countryISO3: 'DEU',
    currency: 'EUR',
    operatingMIC: 'XETR',
    calendar: 'DE',
    timezone: 'Europe/Berlin',
    open: '09:00',
    close: '17:30',
  },
  PA: {
    code: 'PA',
    name: 'Euronext Paris',
    country: 'France',
    countryISO2: 'FR',
    countryISO3: 'FRA',
    currency: 'EUR',
    operatingMIC: 'XPAR',
    calendar: 'EU',
    timezone: 'Europe/Paris',
    open: '09:00',
    close: '17:30',
  },
  AS: {
    code: 'AS',
    name: 'Euronext Amsterdam',
    country: 'Netherlands',
    countryISO2: 'NL',
    countryISO3: 'NLD',
    currency: 'EUR',
    operatingMIC: 'XAMS',
    calendar: 'EU',
    timezone: 'Europe/Amsterdam',
    open: '09:00',
    close: '17:30',
  },
  BR: {
    code: 'BR',
    name: 'Euronext Brussels',
    country: 'Belgium',
    countryISO2: 'BE',
    countryISO3: 'BEL',
    currency: 'EUR',
    operatingMIC: 'XBRU',
    calendar: 'EU',
    timezone: 'Europe/Brussels',
    open: '09:00',
    close: '17:30',
  },
  LS: {
    code: 'LS',
    name: 'Euronext Lisbon',
    country: 'Portugal',
    countryISO2: 'PT',
    countryISO3: 'PRT',
    currency: 'EUR',
    operatingMIC: 'XLIS',
    calendar: 'EU',
    timezone: 'Europe/Lisbon',
    open: '08:00',
    close: '16:30',
  },
  MC: {
    code: 'MC',
    name: 'Madrid Exchange',
    country: 'Spain',
    countryISO2: 'ES',
    countryISO3: 'ESP',
    currency: 'EUR',
    operatingMIC: 'BMEX',
    calendar: 'EU',
    timezone: 'Europe/Madrid',
    open: '09:00',
    close: '17:30',
  },
  SW: {
    code: 'SW',
    name: 'SIX Swiss Exchange',
    country: 'Switzerland',
    countryISO2: 'CH',
    countryISO3: 'CHE',
    currency: 'CHF',
    operatingMIC: 'XSWX',
    calendar: 'CH',
    timezone: 'Europe/Zurich',
    open: '09:00',
    close: '17:30',
  },
};

export const EXCHANGE_CODES = Object.keys(EXCHANGES) as ExchangeCode[];

export interface TickerFile {
  id: FileId;
  file: string;
  /** EODHD exchange code; null for euronext.txt, whose venue is assigned per ticker. */
  exchange: ExchangeCode | null;
  /** The venue named in exchange-symbol-list's `Exchange` field (US: NYSE / NASDAQ). */
  venue: string | null;
}

export const TICKER_FILES: TickerFile[] = [
  { id: 'nyse', file: 'nyse.txt', exchange: 'US', venue: 'NYSE' },
  { id: 'nasdaq', file: 'nasdaq.txt', exchange: 'US', venue: 'NASDAQ' },
  { id: 'lse', file: 'lse.txt', exchange: 'LSE', venue: 'LSE' },
  { id: 'frankfurt', file: 'frankfurt.txt', exchange: 'F', venue: 'F' },
  { id: 'xetra', file: 'xetra.txt', exchange: 'XETRA', venue: 'XETRA' },
  { id: 'euronext', file: 'euronext.txt', exchange: null, venue: null },
  { id: 'bme', file: 'bme.txt', exchange: 'MC', venue: 'MC' },
  { id: 'six', file: 'six.txt', exchange: 'SW', venue: 'SW' },
];

/**
 * Exchange codes accepted by the bulk endpoint: the ten exchanges plus the two US venues
 * (EODHD answers `/eod-bulk-last-day/NYSE` with only that venue's tickers).
 */
export function resolveBulkExchange(raw: string): { exchange: ExchangeCode; venue: string | null } | null {
  const c = raw.toUpperCase();
  if (c === 'NYSE' || c === 'NASDAQ') return { exchange: 'US', venue: c };
  if (c in EXCHANGES) return { exchange: c as ExchangeCode, venue: null };
  return null;
}

export function isExchangeCode(raw: string): raw is ExchangeCode {
  return raw in EXCHANGES;
}
