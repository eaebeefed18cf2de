/**
 * The exchanges the pipeline covers, by EODHD code, and the four regions the seed ran as
 * parallel jobs. Region is the unit of fan-out: one collect-region shard each.
 */
export const REGIONS = ['us', 'lse', 'german', 'european'] as const;
export type Region = (typeof REGIONS)[number];

export const EXCHANGES = ['US', 'LSE', 'F', 'XETRA', 'PA', 'AS', 'BR', 'LS', 'MC', 'SW'] as const;
export type ExchangeCode = (typeof EXCHANGES)[number];

export const REGION_OF: Record<ExchangeCode, Region> = {
  US: 'us',
  LSE: 'lse',
  F: 'german',
  XETRA: 'german',
  PA: 'european',
  AS: 'european',
  BR: 'european',
  LS: 'european',
  MC: 'european',
  SW: 'european',
};

/**
 * The major currency of each exchange: its benchmark index's, and a listing's when no list
 * says (a watchlist symbol). London lists in pence (GBX) and pounds alike: a London listing
 * takes its currency from its list only.
 */
export const EXCHANGE_CURRENCY: Record<ExchangeCode, string> = {
  US: 'USD',
  LSE: 'GBP',
  F: 'EUR',
  XETRA: 'EUR',
  PA: 'EUR',
  AS: 'EUR',
  BR: 'EUR',
  LS: 'EUR',
  MC: 'EUR',
  SW: 'CHF',
};

export function exchangesOf(region: Region): ExchangeCode[] {
  return EXCHANGES.filter((e) => REGION_OF[e] === region);
}

/** The venue of a non-US listing (for US, the symbol list names NYSE, NASDAQ, ...). */
export const VENUE_OF: Record<Exclude<ExchangeCode, 'US'>, string> = {
  LSE: 'LSE',
  F: 'FRANKFURT',
  XETRA: 'XETRA',
  PA: 'EURONEXT PARIS',
  AS: 'EURONEXT AMSTERDAM',
  BR: 'EURONEXT BRUSSELS',
  LS: 'EURONEXT LISBON',
  MC: 'BME',
  SW: 'SIX',
};

/** What a person calls each exchange (and EODHD's code for the benchmark indices). */
export const EXCHANGE_NAMES: Record<ExchangeCode | 'INDX', string> = {
  US: 'US (NYSE, NASDAQ, ...)',
  LSE: 'London Stock Exchange',
  F: 'Frankfurt',
  XETRA: 'Xetra',
  PA: 'Euronext Paris',
  AS: 'Euronext Amsterdam',
  BR: 'Euronext Brussels',
  LS: 'Euronext Lisbon',
  MC: 'BME (Madrid)',
  SW: 'SIX Swiss Exchange',
  INDX: 'Indices',
};

/** "Euronext Paris (PA)": the name with EODHD's code; a code without a name stays as it is. */
export function exchangeLabel(code: string): string {
  const name = (EXCHANGE_NAMES as Record<string, string | undefined>)[code];
  return name ? `${name} (${code})` : code;
}
