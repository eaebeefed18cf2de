// The simulated asset universe: which listings exist, on which day.
//
// Why built from the real ticker files: at full scale the pipeline must see the real
// symbols (dots turned to dashes, digits, leading zeros, `-WT`, `-P-H`) and the real
// exchange sizes (10k tickers on Frankfurt, 218 on SIX), because that is where batching,
// URL-encoding and quota planning break.
//
// How it changes with the clock (all deterministic, so two simulators agree):
// - On BASE_DATE every ticker of the files is active, nothing else is (exchange-symbol-list
//   returns exactly the files: 21,817).
// - File tickers have a listing date (75% before 2015, some recent IPOs) and history only
//   from it. After BASE_DATE each one is delisted with a 3%-a-year hazard: it drops out of
//   exchange-symbol-list and gets no more bars, but its history stays fetchable and it
//   shows in `delisted=1`.
// - On each trading day after BASE_DATE each file gets new listings at the same 3%-a-year
//   rate (synthetic codes in the exchange's style, history from their listing day).
// - About 2% per file of synthetic tickers were delisted before BASE_DATE (some carry
//   EODHD's `_old` suffix of renamed tickers): they only show with `delisted=1`.
// - The 'sample' universe is a deterministic spread of ~40 tickers per file plus a few
//   well-known names, every exchange code represented; 10% of new listings and one
//   old delisting per file join it. Anchored events make sure a sample run sees a new
//   listing on the first trading day after BASE_DATE and a delisting on the third.
//
// Euronext tickers get a venue (PA, AS, BR, LS) from a hash, mostly Paris, with a few
// well-known names pinned to their real venue.

import fs from 'node:fs';
import path from 'node:path';
import { CALENDARS } from './calendar.js';
import { BASE_DAY } from './constants.js';
import { dayOf } from './dates.js';
import { EXCHANGES, type ExchangeCode, type FileId, TICKER_FILES, type TickerFile } from './exchanges.js';
import { generatedCodes, REAL_UNIVERSE_SIZE } from './generated-tickers.js';
import { h3, hashString, pick, S, u2, u3 } from './hash.js';
import { makePriceParams, type PriceParams } from './prices.js';

export type Origin = 'file' | 'new' | 'old' | 'fund';

/** What exchange-symbol-list calls a listing's Type (and its `type=` filter selects). */
export type InstrumentType = 'Common Stock' | 'ETF' | 'FUND';

/** A quote currency that changes on a day: the API restates the whole history in the new one. */
export interface CurrencySwitch {
  day: number;
  to: string;
}

export interface Listing {
  key: string; // CODE.EXCH, the EODHD symbol
  code: string;
  exchange: ExchangeCode;
  venue: string; // exchange-symbol-list `Exchange` (NYSE / NASDAQ for US)
  file: FileId;
  origin: Origin;
  name: string;
  type: InstrumentType;
  currency: string; // quote currency on BASE_DATE (GBX for most LSE listings)
  /** GBX <-> GBP: from this day the listing quotes (and its history is served) in `to`. */
  currencySwitch: CurrencySwitch | null;
  country: string; // exchange country, as the symbol list writes it
  isin: string | null;
  listDay: number; // first day with a bar
  delistDay: number; // first day without (Infinity when never)
  seed: number;
  sample: boolean;
  wellKnown: boolean; // a famous name: never a penny stock
  params: PriceParams;
}

/**
 * A listing whose name, ISIN and price parameters are computed on first use: a sample
 * simulator still builds all 22k listings (to keep synthetic codes unique and identical in
 * both modes) but only ever looks at ~330 of them.
 */
class LazyListing implements Listing {
  readonly key: string;
  readonly venue: string;
  readonly file: FileId;
  readonly currency: string;
  readonly country: string;
  readonly seed: number;
  currencySwitch: CurrencySwitch | null;
  private _params?: PriceParams;
  private _name?: string;
  private _isin?: string | null;

  constructor(
    tf: TickerFile,
    readonly code: string,
    readonly exchange: ExchangeCode,
    readonly origin: Origin,
    // F and XETRA listings of the same code are the same company: same name and ISIN
    // (EODHD's ISINs are not unique keys, TICKER.EXCHANGE is).
    private readonly companySeed: number,
    public listDay: number,
    public delistDay: number,
    readonly sample: boolean,
    readonly wellKnown: boolean,
    readonly type: InstrumentType = 'Common Stock',
    fixed: { venue?: string; currency?: string; name?: string } = {},
  ) {
    this._name = fixed.name;
    this.key = `${code}.${exchange}`;
    this.venue = fixed.venue ?? tf.venue ?? exchange;
    this.file = tf.id;
    this.seed = hashString(this.key);
    this.currency = fixed.currency ?? quoteCurrency(exchange, this.seed);
    this.country = EXCHANGES[exchange].country;
    this.currencySwitch = currencySwitchOf(exchange, this.currency, this.seed, listDay, delistDay);
  }

  get name(): string {
    return (this._name ??= makeName(this.companySeed, issuerCountry(this.file, this.exchange, this.companySeed)));
  }

  get isin(): string | null {
    if (this._isin === undefined) {
      this._isin =
        u2(this.companySeed, 13) < 0.07
          ? null
          : makeIsin(this.companySeed, issuerCountry(this.file, this.exchange, this.companySeed));
    }
    return this._isin;
  }

  get params(): PriceParams {
    return (this._params ??= makePriceParams(this));
  }
}

export type UniverseMode = 'sample' | 'full';

export const SAMPLE_PER_FILE = 40;
const DELIST_HAZARD = 0.03; // per year, for file and new tickers after BASE_DATE
const LISTING_RATE = 0.03; // new listings per year, as a share of the file's size
const OLD_SHARE = 0.02; // synthetic tickers delisted before BASE_DATE
const NEW_SAMPLE_SHARE = 0.1; // share of new listings that join the sample universe
const WELL_KNOWN: Partial<Record<FileId, string[]>> = {
  nasdaq: ['AAPL', 'MSFT', 'GOOGL'],
  nyse: ['BRK-B', 'BRK-A'],
  lse: ['BP', 'HSBA'],
  xetra: ['SAP', 'VOW3'],
  frankfurt: ['SAP'],
  euronext: ['ASML', 'MC', 'ABI', 'EDP'],
  bme: ['SAN'],
  six: ['NESN'],
};
// Real venues of a few Euronext names; the rest is hashed.
const EURONEXT_VENUE: Record<string, ExchangeCode> = {
  ASML: 'AS',
  HEIA: 'AS',
  INGA: 'AS',
  PHIA: 'AS',
  AD: 'AS',
  UNA: 'AS',
  PRX: 'AS',
  ADYEN: 'AS',
  ABI: 'BR',
  UCB: 'BR',
  KBC: 'BR',
  SOLB: 'BR',
  ACKB: 'BR',
  GBLB: 'BR',
  AGS: 'BR',
  EDP: 'LS',
  GALP: 'LS',
  BCP: 'LS',
  JMT: 'LS',
  NOS: 'LS',
  SON: 'LS',
  EDPR: 'LS',
  MC: 'PA',
  AIR: 'PA',
  ORA: 'PA',
  BNP: 'PA',
  SAN: 'PA',
  TTE: 'PA',
  OR: 'PA',
  AI: 'PA',
};

/** Euronext venue from a uniform draw: mostly Paris, then Amsterdam, Brussels, Lisbon. */
function hashedVenue(u: number): ExchangeCode {
  return u < 0.62 ? 'PA' : u < 0.82 ? 'AS' : u < 0.93 ? 'BR' : 'LS';
}

function euronextVenue(code: string): ExchangeCode {
  return EURONEXT_VENUE[code] ?? hashedVenue(u2(hashString(code), S.venue));
}

// ---------------------------------------------------------------- names and ISINs

const SYL1 = [
  'Al',
  'Bel',
  'Cor',
  'Dyn',
  'Ev',
  'Fal',
  'Gen',
  'Hal',
  'Ion',
  'Jun',
  'Kel',
  'Lum',
  'Mer',
  'Nor',
  'Or',
  'Pax',
  'Quin',
  'Ros',
  'Sol',
  'Tor',
  'Ul',
  'Ver',
  'Wes',
  'Xan',
  'Yor',
  'Zen',
  'Ar',
  'Bra',
  'Cal',
  'Del',
];
const SYL2 = [
  'tra',
  'dex',
  'vo',
  'gen',
  'ra',
  'lix',
  'na',
  'tek',
  'cor',
  'mont',
  'ver',
  'ia',
  'on',
  'ex',
  'is',
  'ara',
  'ford',
  'ton',
];
const WORDS = [
  '',
  '',
  '',
  'Holdings',
  'Group',
  'Technologies',
  'Resources',
  'Pharma',
  'Energy',
  'Capital',
  'Bank',
  'Industries',
  'Systems',
  'Brands',
  'Therapeutics',
  'Minerals',
  'Logistics',
  'Media',
  'Foods',
  'Properties',
];
const SUFFIX: Record<string, string[]> = {
  US: ['Inc', 'Corp', 'Co', 'Ltd', 'Inc.', 'Corporation'],
  GB: ['PLC', 'plc', 'Group PLC'],
  DE: ['AG', 'SE', 'GmbH & Co. KGaA'],
  FR: ['SA', 'SE', 'S.A.'],
  NL: ['NV', 'N.V.'],
  BE: ['SA/NV', 'NV'],
  PT: ['SGPS SA', 'SA'],
  ES: ['SA', 'S.A.'],
  CH: ['AG', 'SA', 'Holding AG'],
  XX: ['Ltd', 'Inc', 'Corp', 'AG', 'SA', 'Co Ltd', 'Plc'],
};

function makeName(seed: number, countryIso: string): string {
  const a = pick(SYL1, u2(seed, 1)) + pick(SYL2, u2(seed, 2)) + (u2(seed, 3) < 0.3 ? pick(SYL2, u2(seed, 4)) : '');
  const w = pick(WORDS, u2(seed, 5));
  const suf = pick(SUFFIX[countryIso] ?? SUFFIX.XX, u2(seed, 6));
  return [a, w, suf].filter(Boolean).join(' ');
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function isinCheckDigit(body: string): number {
  let digits = '';
  for (const ch of body) digits += ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
  let sum = 0;
  for (let i = digits.length - 1, dbl = true; i >= 0; i--, dbl = !dbl) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

function makeIsin(seed: number, prefix: string): string {
  let body = prefix;
  for (let i = 0; i < 9; i++) body += i < 2 ? String(h3(seed, S.isin, i) % 10) : ALNUM[h3(seed, S.isin, i) % 36];
  return body + isinCheckDigit(body);
}

/** Country of the issuer (ISIN prefix, name style). Frankfurt lists the whole world. */
function issuerCountry(file: FileId, exchange: ExchangeCode, seed: number): string {
  const u = u2(seed, S.isin);
  switch (file) {
    case 'nyse':
    case 'nasdaq':
      return u < 0.92 ? 'US' : pick(['CA', 'KY', 'BM', 'IE', 'GB'], u2(seed, 7));
    case 'lse':
      return u < 0.85 ? 'GB' : pick(['JE', 'GG', 'IE', 'IM'], u2(seed, 7));
    case 'frankfurt':
      return u < 0.35 ? 'DE' : pick(['US', 'US', 'US', 'CA', 'GB', 'CN', 'JP', 'AU', 'FR', 'CH', 'KY'], u2(seed, 7));
    case 'xetra':
      return u < 0.85 ? 'DE' : pick(['AT', 'LU', 'NL', 'US'], u2(seed, 7));
    case 'bme':
      return 'ES';
    case 'six':
      return 'CH';
    case 'euronext':
      return ({ PA: 'FR', AS: 'NL', BR: 'BE', LS: 'PT' } as Record<string, string>)[exchange] ?? 'FR';
  }
}

/**
 * About 1.5% of London listings quoted in GBX or GBP switch to the other after BASE_DATE
 * (EODHD's data for a ticker moves between pence and pounds); the day is hashed.
 */
function currencySwitchOf(
  exchange: ExchangeCode,
  currency: string,
  seed: number,
  listDay: number,
  delistDay: number,
): CurrencySwitch | null {
  if (exchange !== 'LSE' || (currency !== 'GBX' && currency !== 'GBP') || u2(seed, S.currency) >= 0.015) return null;
  const day = Math.max(listDay, BASE_DAY) + 5 + Math.floor(u2(seed, S.currency + 1) * 700);
  return day < delistDay ? { day, to: currency === 'GBX' ? 'GBP' : 'GBX' } : null;
}

/** The listing's quote currency on `day`. */
export function currencyOn(l: Listing, day: number): string {
  return l.currencySwitch && day >= l.currencySwitch.day ? l.currencySwitch.to : l.currency;
}

/** Quote units per major unit of a currency: EODHD's minor units (GBX: pence). */
export function unitsPerMajor(currency: string): number {
  return currency === 'GBX' || currency === 'GBp' || currency === 'ZAC' || currency === 'ILA' ? 100 : 1;
}

/** Codes of warrants, units and rights: EODHD has prices for them but no fundamentals. */
export const NO_FUNDAMENTALS_CODE = /-(WT|WS|W|U|UN|R|RT)$/;

/**
 * Exchange-traded and mutual funds: a few real names per exchange (never delisted, in
 * both universes). exchange-symbol-list shows them with `type=etf` / `type=fund` (or no
 * type), so a pipeline that asks for common stocks does not see them unless it asks.
 */
const FUNDS: Array<{
  file: FileId;
  exchange: ExchangeCode;
  code: string;
  type: InstrumentType;
  venue: string;
  name: string;
  currency?: string;
}> = [
  { file: 'nyse', exchange: 'US', code: 'SPY', type: 'ETF', venue: 'NYSE ARCA', name: 'SPDR S&P 500 ETF Trust' },
  {
    file: 'nyse',
    exchange: 'US',
    code: 'VTI',
    type: 'ETF',
    venue: 'NYSE ARCA',
    name: 'Vanguard Total Stock Market Index Fund ETF Shares',
  },
  { file: 'nasdaq', exchange: 'US', code: 'QQQ', type: 'ETF', venue: 'NASDAQ', name: 'Invesco QQQ Trust' },
  { file: 'nyse', exchange: 'US', code: 'SWPPX', type: 'FUND', venue: 'NMFQS', name: 'Schwab S&P 500 Index Fund' },
  {
    file: 'nyse',
    exchange: 'US',
    code: 'VFIAX',
    type: 'FUND',
    venue: 'NMFQS',
    name: 'Vanguard 500 Index Fund Admiral Shares',
  },
  {
    file: 'lse',
    exchange: 'LSE',
    code: 'VUSA',
    type: 'ETF',
    venue: 'LSE',
    name: 'Vanguard S&P 500 UCITS ETF',
    currency: 'GBP',
  },
  {
    file: 'lse',
    exchange: 'LSE',
    code: 'ISF',
    type: 'ETF',
    venue: 'LSE',
    name: 'iShares Core FTSE 100 UCITS ETF',
    currency: 'GBX',
  },
  {
    file: 'lse',
    exchange: 'LSE',
    code: 'CSPX',
    type: 'ETF',
    venue: 'LSE',
    name: 'iShares Core S&P 500 UCITS ETF USD (Acc)',
    currency: 'USD',
  },
  {
    file: 'xetra',
    exchange: 'XETRA',
    code: 'EUNL',
    type: 'ETF',
    venue: 'XETRA',
    name: 'iShares Core MSCI World UCITS ETF',
  },
  {
    file: 'euronext',
    exchange: 'AS',
    code: 'IWDA',
    type: 'ETF',
    venue: 'AS',
    name: 'iShares Core MSCI World UCITS ETF USD (Acc)',
  },
  { file: 'euronext', exchange: 'PA', code: 'CW8', type: 'ETF', venue: 'PA', name: 'Amundi MSCI World UCITS ETF' },
  { file: 'six', exchange: 'SW', code: 'CHSPI', type: 'ETF', venue: 'SW', name: 'iShares Core SPI (CH)' },
];

function quoteCurrency(exchange: ExchangeCode, seed: number): string {
  if (exchange === 'LSE') {
    const u = u2(seed, 11);
    return u < 0.88 ? 'GBX' : u < 0.94 ? 'GBP' : u < 0.99 ? 'USD' : 'EUR';
  }
  return EXCHANGES[exchange].currency;
}

// ---------------------------------------------------------------- synthetic codes

function makeCode(exchange: ExchangeCode, seed: number, attempt: number): string {
  const r = (i: number) => h3(seed, attempt * 31 + i, S.newListing);
  let len: number,
    alphabet: string,
    firstDigitOk = false;
  switch (exchange) {
    case 'F':
    case 'XETRA':
      len = 3 + (r(0) % 2);
      alphabet = ALNUM;
      firstDigitOk = true;
      break;
    case 'PA':
    case 'AS':
    case 'BR':
    case 'LS':
      len = 3 + (r(0) % 3);
      alphabet = LETTERS;
      break;
    default:
      len = 3 + (r(0) % 2);
      alphabet = LETTERS;
  }
  let s = '';
  for (let i = 0; i < len; i++) {
    const a = i === 0 && !firstDigitOk ? LETTERS : alphabet;
    s += a[r(i + 1) % a.length];
  }
  return s;
}

// ---------------------------------------------------------------- the universe

export interface AnchorSplit {
  key: string;
  day: number;
  newShares: number;
  oldShares: number;
}

export class Universe {
  readonly mode: UniverseMode;
  /** Where the tickers came from: the real files, or generated (no files beside the project). */
  readonly source: 'files' | 'generated';
  /** Ticker counts per file as read (the 21,817). */
  readonly fileCounts: Record<FileId, number> = {} as Record<FileId, number>;
  /** Events forced into the sample so that short test runs see them. */
  readonly anchorSplits: AnchorSplit[] = [];
  anchorDelistKey = '';
  anchorListingKey = '';
  anchorCurrencyKey = '';

  private readonly all: Listing[] = [];
  private readonly byKey = new Map<string, Listing>();
  private readonly byExchange = new Map<ExchangeCode, Listing[]>();
  private readonly sortedExchanges = new Set<ExchangeCode>();
  private readonly taken = new Map<ExchangeCode, Set<string>>();
  private readonly fileCodes = new Map<FileId, string[]>();
  private readonly fileSample = new Map<FileId, number>();
  private generatedThrough = BASE_DAY;

  /** Listings per real one in a synthetic universe (generated codes); null: the real files or their shape. */
  private readonly scale: number | null;

  /** synthetic: a generated universe of about this many listings, the real one's shape scaled. */
  constructor(sharedDir: string, mode: UniverseMode, synthetic?: number) {
    this.mode = mode;
    this.scale = synthetic ? synthetic / REAL_UNIVERSE_SIZE : null;
    for (const c of Object.keys(EXCHANGES) as ExchangeCode[]) {
      this.byExchange.set(c, []);
      this.taken.set(c, new Set());
    }
    // The real tickers when the files are there (../shared/data/tickers, or SHARED_DIR);
    // a generated universe of the same shape otherwise (a plain clone).
    const dir = path.join(sharedDir, 'data', 'tickers');
    this.source =
      this.scale === null && TICKER_FILES.every((tf) => fs.existsSync(path.join(dir, tf.file))) ? 'files' : 'generated';
    for (const tf of TICKER_FILES) this.loadFile(this.source === 'files' ? dir : null, tf);
    this.chooseAnchors();
    for (const tf of TICKER_FILES) this.makeOldListings(tf);
    this.makeFunds();
  }

  private makeFunds(): void {
    for (const f of FUNDS) {
      const tf = TICKER_FILES.find((x) => x.id === f.file)!;
      if (this.taken.get(f.exchange)!.has(f.code)) continue;
      const listDay = CALENDARS[EXCHANGES[f.exchange].calendar].onOrAfter(dayOf(2010, 1, 4));
      this.add(
        new LazyListing(
          tf,
          f.code,
          f.exchange,
          'fund',
          hashString(`${f.code}@fund`),
          listDay,
          Infinity,
          true,
          true,
          f.type,
          { venue: f.venue, currency: f.currency, name: f.name },
        ),
      );
    }
  }

  private add(l: Listing): void {
    this.all.push(l);
    this.taken.get(l.exchange)!.add(l.code);
    if (this.mode === 'full' || l.sample) {
      this.byKey.set(l.key.toUpperCase(), l);
      this.byExchange.get(l.exchange)!.push(l);
      this.sortedExchanges.delete(l.exchange);
    }
  }

  private makeListing(
    tf: TickerFile,
    code: string,
    origin: Origin,
    nameSeedKey: string,
    listDay: number,
    delistDay: number,
    sample: boolean,
    exchangeOverride?: ExchangeCode,
  ): Listing {
    const exchange = exchangeOverride ?? tf.exchange ?? euronextVenue(code);
    const wellKnown = origin === 'file' && (WELL_KNOWN[tf.id] ?? []).includes(code);
    return new LazyListing(tf, code, exchange, origin, hashString(nameSeedKey), listDay, delistDay, sample, wellKnown);
  }

  /** The file's codes: the real ticker file when there is one, else a generated list of its size. */
  private codesOf(dir: string | null, tf: TickerFile): string[] {
    if (dir === null) return generatedCodes(tf.id, this.scale ?? 1);
    const text = fs.readFileSync(path.join(dir, tf.file), 'utf8');
    const seen = new Set<string>();
    const codes: string[] = [];
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const code = line.replace(/\./g, '-'); // EODHD: BRK.B is BRK-B
      if (seen.has(code)) continue;
      seen.add(code);
      codes.push(code);
    }
    return codes;
  }

  private loadFile(dir: string | null, tf: TickerFile): void {
    const codes = this.codesOf(dir, tf);
    this.fileCounts[tf.id] = codes.length;
    this.fileCodes.set(tf.id, codes);
    const sample = this.sampleOf(tf, codes);
    this.fileSample.set(tf.id, sample.size);
    const cal = (code: string) => CALENDARS[EXCHANGES[tf.exchange ?? euronextVenue(code)].calendar];
    for (const code of codes) {
      const nameKey = tf.id === 'frankfurt' || tf.id === 'xetra' ? `${code}@DE` : `${code}@${tf.id}`;
      const s = hashString(`${tf.id}:${code}`);
      const c = cal(code);
      // Listing day: 75% between 1990 and 2014, 15% 2015 to 2.5 years ago, 10% recent IPOs.
      const u = u2(s, S.listing),
        v = u2(s, S.listing + 1);
      const lo = u < 0.75 ? dayOf(1990, 1, 2) : u < 0.9 ? dayOf(2015, 1, 2) : BASE_DAY - 900;
      const hi = u < 0.75 ? dayOf(2014, 12, 31) : u < 0.9 ? BASE_DAY - 900 : BASE_DAY - 20;
      const listDay = c.onOrAfter(lo + Math.floor(v * (hi - lo)));
      // Delisting after BASE_DATE with a constant hazard (exponential waiting time).
      const w = u2(s, S.delist);
      const years = -Math.log(1 - w) / DELIST_HAZARD;
      const delistDay = years > 80 ? Infinity : c.onOrAfter(BASE_DAY + 1 + Math.floor(years * 365.25));
      this.add(this.makeListing(tf, code, 'file', nameKey, listDay, delistDay, sample.has(code)));
    }
  }

  /** ~40 evenly spread tickers, plus well-known ones, plus coverage of dashes and venues. */
  private sampleOf(tf: TickerFile, codes: string[]): Set<string> {
    const out = new Set<string>();
    const n = codes.length;
    for (let i = 0; i < SAMPLE_PER_FILE && i < n; i++) out.add(codes[Math.floor(((i + 0.5) * n) / SAMPLE_PER_FILE)]);
    for (const c of WELL_KNOWN[tf.id] ?? []) if (codes.includes(c)) out.add(c);
    const dashed = codes.filter((c) => c.includes('-'));
    if (dashed.length && ![...out].some((c) => c.includes('-'))) {
      out.add(dashed[0]);
      if (dashed.length > 2) out.add(dashed[Math.floor(dashed.length / 2)]);
    }
    // A warrant or unit: EODHD has its prices but no fundamentals.
    const warrant = codes.find((c) => NO_FUNDAMENTALS_CODE.test(c));
    if (warrant) out.add(warrant);
    if (tf.id === 'euronext') {
      for (const venue of ['PA', 'AS', 'BR', 'LS'] as ExchangeCode[]) {
        const have = [...out].filter((c) => euronextVenue(c) === venue).length;
        const candidates = codes.filter((c) => euronextVenue(c) === venue && !out.has(c));
        for (let i = 0; i < 4 - have && i < candidates.length; i++) {
          out.add(candidates[Math.floor(((i + 0.5) * candidates.length) / 4)]);
        }
      }
    }
    return out;
  }

  /** Delisted before BASE_DATE: only visible with delisted=1 (or by asking for them). */
  private makeOldListings(tf: TickerFile): void {
    const codes = this.fileCodes.get(tf.id)!;
    const count = Math.round(codes.length * OLD_SHARE);
    const sampleCount = Math.max(1, Math.round(this.fileSample.get(tf.id)! * OLD_SHARE));
    const fseed = hashString(`old:${tf.id}`);
    for (let i = 0; i < count; i++) {
      const s = h3(fseed, S.oldListing, i);
      let code: string;
      let nameKey: string;
      let exchange = tf.exchange ?? undefined;
      if (u2(s, 1) < 0.2) {
        // A renamed ticker: EODHD keeps the old history under CODE_old.
        const base = codes[h3(s, 2, 0) % codes.length];
        code = `${base}_old`;
        nameKey = tf.id === 'frankfurt' || tf.id === 'xetra' ? `${base}@DE` : `${base}@${tf.id}`;
        exchange = tf.exchange ?? euronextVenue(base);
      } else {
        exchange = tf.exchange ?? euronextVenue(`old${i}`);
        let attempt = 0;
        do code = makeCode(exchange, s, attempt++);
        while (this.taken.get(exchange)!.has(code));
        nameKey = `${code}@old:${tf.id}`;
      }
      if (this.taken.get(exchange)!.has(code)) continue;
      const c = CALENDARS[EXCHANGES[exchange].calendar];
      const listDay = c.onOrAfter(dayOf(1995, 1, 2) + Math.floor(u2(s, 3) * (dayOf(2020, 12, 31) - dayOf(1995, 1, 2))));
      const lo = Math.max(listDay + 250, dayOf(2016, 1, 4));
      const delistDay = c.onOrAfter(lo + Math.floor(u2(s, 4) * (BASE_DAY - 10 - lo)));
      this.add(this.makeListing(tf, code, 'old', nameKey, listDay, delistDay, i < sampleCount, exchange));
    }
  }

  /** Forced events in the sample: a 2-for-1 and a 1-for-10 split, a delisting, a listing. */
  private chooseAnchors(): void {
    const eligible = (files: FileId[]) =>
      this.all
        .filter(
          (l) =>
            l.sample &&
            files.includes(l.file) &&
            l.listDay < dayOf(2012, 1, 1) &&
            !l.params.thin &&
            l.delistDay > BASE_DAY + 90,
        )
        .sort((a, b) => a.seed - b.seed);
    const us = eligible(['nasdaq', 'nyse']);
    const eu = eligible(['xetra', 'lse']);
    const cal = (l: Listing) => CALENDARS[EXCHANGES[l.exchange].calendar];
    const nth = (l: Listing, k: number) => {
      let d = BASE_DAY;
      for (let i = 0; i < k; i++) d = cal(l).next(d);
      return d;
    };
    if (us[0]) this.anchorSplits.push({ key: us[0].key, day: nth(us[0], 2), newShares: 2, oldShares: 1 });
    if (eu[0]) this.anchorSplits.push({ key: eu[0].key, day: nth(eu[0], 6), newShares: 1, oldShares: 10 });
    const d = us[1];
    if (d) {
      d.delistDay = nth(d, 3);
      this.anchorDelistKey = d.key;
    }
    // A London listing that moves from pence to pounds on the fourth trading day.
    const gbx = this.all
      .filter(
        (l) =>
          l.sample && l.file === 'lse' && l.currency === 'GBX' && l.origin === 'file' && l.delistDay > BASE_DAY + 90,
      )
      .sort((a, b) => a.seed - b.seed)[0];
    if (gbx) {
      (gbx as LazyListing).currencySwitch = { day: nth(gbx, 4), to: 'GBP' };
      this.anchorCurrencyKey = gbx.key;
    }
  }

  /** New listings for every trading day in (BASE_DATE, day]. Generated in order, once. */
  ensureThrough(day: number): void {
    if (day <= this.generatedThrough) return;
    for (let d = this.generatedThrough + 1; d <= day; d++) {
      for (const tf of TICKER_FILES) {
        const exch = tf.exchange ?? 'PA';
        const cal = CALENDARS[EXCHANGES[exch].calendar];
        if (!cal.isTradingDay(d)) continue;
        const lambda = (this.fileCounts[tf.id] * LISTING_RATE) / 252;
        const fseed = hashString(`new:${tf.id}`);
        let count = Math.floor(lambda) + (u3(fseed, S.newListing, d) < lambda - Math.floor(lambda) ? 1 : 0);
        const anchor = tf.id === 'nasdaq' && d === CALENDARS.US.next(BASE_DAY);
        if (anchor) count = Math.max(count, 1);
        for (let i = 0; i < count; i++) {
          const s = h3(fseed, d, i);
          const exchange = tf.exchange ?? hashedVenue(u2(s, S.venue));
          let attempt = 0,
            code: string;
          do code = makeCode(exchange, s, attempt++);
          while (this.taken.get(exchange)!.has(code));
          const c = CALENDARS[EXCHANGES[exchange].calendar];
          const w = u2(s, S.delist);
          const years = -Math.log(1 - w) / DELIST_HAZARD;
          const delistDay = years > 80 ? Infinity : c.onOrAfter(d + 30 + Math.floor(years * 365.25));
          const sample = (anchor && i === 0) || u2(s, S.sample) < NEW_SAMPLE_SHARE;
          const l = this.makeListing(
            tf,
            code,
            'new',
            `${code}@new:${tf.id}:${d}`,
            c.onOrAfter(d),
            delistDay,
            sample,
            exchange,
          );
          this.add(l);
          if (anchor && i === 0) this.anchorListingKey = l.key;
        }
      }
    }
    this.generatedThrough = day;
  }

  /** A member listing that exists on `today` (listed; delisted ones keep their history). Case-insensitive. */
  get(key: string, today: number): Listing | undefined {
    this.ensureThrough(today);
    const l = this.byKey.get(key.toUpperCase());
    return l && l.listDay <= today ? l : undefined;
  }

  /** Member listings of an exchange, sorted by code (any state). */
  listings(exchange: ExchangeCode, today: number): Listing[] {
    this.ensureThrough(today);
    const arr = this.byExchange.get(exchange)!;
    if (!this.sortedExchanges.has(exchange)) {
      arr.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
      this.sortedExchanges.add(exchange);
    }
    return arr;
  }

  /** Listings trading on `day` (listed on or before it, not yet delisted), seen from `today`. */
  activeOn(exchange: ExchangeCode, day: number, today: number): Listing[] {
    return this.listings(exchange, today).filter((l) => l.listDay <= day && day < l.delistDay && l.listDay <= today);
  }

  /** Every member listing known on `today`, all exchanges. */
  allMembers(today: number): Listing[] {
    this.ensureThrough(today);
    const out: Listing[] = [];
    for (const arr of this.byExchange.values()) for (const l of arr) if (l.listDay <= today) out.push(l);
    return out;
  }

  /** Every listing generated, members or not (for anchors and diagnostics). */
  everything(): readonly Listing[] {
    return this.all;
  }
}
