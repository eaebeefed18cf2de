// The fundamentals document (`/fundamentals/{CODE}.{EXCH}`, 10 calls).
//
// Why so much detail: the pipeline stores the whole document as jsonb and extracts the
// columns a screener filters on (market cap, P/E, dividend yield, sector, ...). Those
// extractions are where EODHD's quirks bite, so the document reproduces them on a
// deterministic share of tickers:
//   - "not available" spelled five ways: 0, null, "NA", "No Data", "0000-00-00";
//   - a whole section replaced by the string "NA" (ESGScores, AnalystRatings, Holders,
//     InsiderTransactions), more often for small and non-US companies;
//   - financial statement values as strings ("364980000000.00"), some null;
//   - tickers without dividends or splits: ExDividendDate / LastSplitDate "0000-00-00",
//     LastSplitFactor "";
//   - numbers as strings, "0" among them (a company that pays nothing), and "" for text;
//   - no document at all for warrants, units, rights and renamed `_old` codes: the API
//     answers 200 {"error":"Not found"} (api.ts), charged as a document;
//   - ETFs and mutual funds: their own General fields and an ETF_Data / MutualFund_Data
//     section instead of a company's Highlights and Valuation.
// Fields the OpenAPI schema types (e.g. Highlights.PERatio: number, SplitsDividends.
// DividendDate: date) only get quirks the schema allows (0, or absence), so documents
// validate; the other fields get the full set. The "NA" sections are the one deliberate
// schema violation: the real API sends them although its schema says object/array.
//
// Shapes follow the published schema where it differs from what EODHD sends today: arrays
// (not objects keyed "0", "1", ... or by date) for Holders, InsiderTransactions, Earnings
// and outstandingShares, and `annual`/`quarterly` arrays in Financials.
//
// Numbers are consistent with the price model: market cap = shares x last close, P/E =
// price / EPS, 52-week range and moving averages from the bars (the 14-day fixes' first
// prints included, as before; never bad ticks or the other late corrections: market.ts's
// 'base' view), dividend and split fields from corporate-actions.ts.

import { BASE_DAY } from './constants.js';
import { addMonths, dayOf, fmtDate, yearOf, ymd } from './dates.js';
import { EXCHANGES } from './exchanges.js';
import { h3, logUniform, pick, S, u3 } from './hash.js';
import type { Market } from './market.js';
import { round4 } from './prices.js';
import { currencyOn, type Listing, NO_FUNDAMENTALS_CODE, unitsPerMajor } from './universe.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const SECTORS: Array<{ sector: string; gic: string; industries: string[]; gicIndustry: string[] }> = [
  {
    sector: 'Technology',
    gic: 'Information Technology',
    industries: ['Software - Application', 'Semiconductors', 'Consumer Electronics', 'IT Services'],
    gicIndustry: [
      'Software',
      'Semiconductors & Semiconductor Equipment',
      'Technology Hardware, Storage & Peripherals',
      'IT Services',
    ],
  },
  {
    sector: 'Healthcare',
    gic: 'Health Care',
    industries: ['Biotechnology', 'Drug Manufacturers - General', 'Medical Devices'],
    gicIndustry: ['Biotechnology', 'Pharmaceuticals', 'Health Care Equipment & Supplies'],
  },
  {
    sector: 'Financial Services',
    gic: 'Financials',
    industries: ['Banks - Regional', 'Asset Management', 'Insurance - Diversified'],
    gicIndustry: ['Banks', 'Capital Markets', 'Insurance'],
  },
  {
    sector: 'Consumer Cyclical',
    gic: 'Consumer Discretionary',
    industries: ['Auto Manufacturers', 'Specialty Retail', 'Restaurants'],
    gicIndustry: ['Automobiles', 'Specialty Retail', 'Hotels, Restaurants & Leisure'],
  },
  {
    sector: 'Industrials',
    gic: 'Industrials',
    industries: ['Aerospace & Defense', 'Specialty Industrial Machinery', 'Railroads'],
    gicIndustry: ['Aerospace & Defense', 'Machinery', 'Ground Transportation'],
  },
  {
    sector: 'Communication Services',
    gic: 'Communication Services',
    industries: ['Telecom Services', 'Internet Content & Information'],
    gicIndustry: ['Diversified Telecommunication Services', 'Interactive Media & Services'],
  },
  {
    sector: 'Consumer Defensive',
    gic: 'Consumer Staples',
    industries: ['Packaged Foods', 'Beverages - Brewers', 'Household & Personal Products'],
    gicIndustry: ['Food Products', 'Beverages', 'Household Products'],
  },
  {
    sector: 'Energy',
    gic: 'Energy',
    industries: ['Oil & Gas Integrated', 'Oil & Gas E&P'],
    gicIndustry: ['Oil, Gas & Consumable Fuels', 'Energy Equipment & Services'],
  },
  {
    sector: 'Basic Materials',
    gic: 'Materials',
    industries: ['Gold', 'Specialty Chemicals', 'Steel'],
    gicIndustry: ['Metals & Mining', 'Chemicals', 'Metals & Mining'],
  },
  {
    sector: 'Real Estate',
    gic: 'Real Estate',
    industries: ['REIT - Diversified', 'Real Estate Services'],
    gicIndustry: ['Diversified REITs', 'Real Estate Management & Development'],
  },
  {
    sector: 'Utilities',
    gic: 'Utilities',
    industries: ['Utilities - Regulated Electric', 'Utilities - Renewable'],
    gicIndustry: ['Electric Utilities', 'Independent Power and Renewable Electricity Producers'],
  },
];

const CURRENCY: Record<string, [string, string]> = {
  USD: ['US Dollar', '$'],
  GBX: ['British Pence', 'p'],
  GBP: ['British Pound', '£'],
  EUR: ['Euro', '€'],
  CHF: ['Swiss Franc', 'CHF'],
};

const FIRST = ['James', 'Maria', 'Robert', 'Anna', 'Peter', 'Laura', 'Thomas', 'Sofia', 'Daniel', 'Claire'];
const LAST = ['Smith', 'Muller', 'Dubois', 'Jansen', 'Garcia', 'Rossi', 'Keller', 'Silva', 'Brown', 'Weber'];
const INSTITUTIONS = [
  'Vanguard Group Inc',
  'BlackRock Inc',
  'State Street Corp',
  'Norges Bank',
  'Fidelity (FMR)',
  'Capital Research Global Investors',
  'Amundi',
  'UBS Asset Management',
  'Deka Investment',
  'Geode Capital Management',
];
const FUNDS = [
  'Vanguard Total Stock Mkt Idx Inv',
  'iShares Core MSCI EAFE ETF',
  'SPDR S&P 500 ETF Trust',
  'Xtrackers DAX UCITS ETF',
  'Amundi MSCI World',
  'Fidelity 500 Index',
];

const money = (x: number | null): Json => (x === null ? null : x.toFixed(2));

/** The share of reported periods restated later (new figures under a later filing_date). */
export const RESTATED_SHARE = 0.04;

export class FundamentalsBuilder {
  constructor(private readonly market: Market) {}

  /** Whether EODHD has a document for the listing (else /fundamentals answers {"error":"Not found"}). */
  covers(l: Listing): boolean {
    return l.origin !== 'old' && !NO_FUNDAMENTALS_CODE.test(l.code);
  }

  build(l: Listing, today: number): Obj {
    if (l.type === 'ETF') return this.buildEtf(l, today);
    if (l.type === 'FUND') return this.buildFund(l, today);
    return this.buildStock(l, today);
  }

  private buildStock(l: Listing, today: number): Obj {
    const m = this.market;
    const actions = m.actions;
    const p = l.params;
    const seed = l.seed;
    const u = (i: number) => u3(seed, S.fund, i);
    const q = (i: number) => u3(seed, S.quirk, i);
    const sparse = q(0) < 0.25; // a ticker with patchy data
    const small = (p.sharesOut * Math.exp(p.mu)) / p.major < 3e8;
    const isUS = l.exchange === 'US';
    const quoteCurrency = currencyOn(l, today);
    const major = unitsPerMajor(quoteCurrency);

    // ----- prices the document is consistent with
    const lastDay = m.lastDataDay(l, today);
    const hist = m.history(l, lastDay - 380, lastDay, today, 'base');
    const last = hist[hist.length - 1];
    const priceQ = last ? last.close : Math.exp(p.mu); // quote units
    const price = priceQ / major; // currency major units
    const shares = m.sharesOn(l, Math.min(today, lastDay));
    const mcap = Math.round(shares * price);
    const y250 = hist.slice(-250);
    const ma = (k: number) => {
      const t = hist.slice(-k);
      return t.length ? round4(t.reduce((s, b) => s + b.close, 0) / t.length / major) : 0;
    };

    // ----- a small, coherent income model
    const sec = pick(SECTORS, u(1));
    const si = Math.floor(u(2) * sec.industries.length);
    // profitable companies trade at a P/E of 6-60 (price/sales follows); loss makers on sales
    const margin = small && u(4) < 0.45 ? -0.05 - 0.5 * u(5) : 0.02 + 0.3 * u(5);
    const ps = margin > 0 ? logUniform(u(3), 6, 60) * margin : logUniform(u(3), 0.5, 15);
    const revenue = mcap / ps;
    const netIncome = revenue * margin;
    const eps = shares ? netIncome / shares : 0;
    const pe = eps > 0 ? round4(price / eps) : 0;
    const growth = -0.1 + 0.35 * u(6);
    const ebitda = revenue * (margin + 0.08 + 0.1 * u(7));
    const bookValue = mcap / logUniform(u(8), 0.5, 8) / Math.max(1, shares);

    // ----- dividends and splits, as of today
    const divs = actions.dividendsBetween(l, l.listDay, today).filter((d) => d.day <= today);
    const lastDiv = divs[divs.length - 1];
    const yearDivs = divs.filter((d) => d.day > today - 365);
    const divRate = yearDivs.reduce((s, d) => s + d.amount, 0) / major;
    const splits = actions.splits(l).filter((s) => s.day <= today);
    const lastSplit = splits[splits.length - 1];
    const byYear: Obj = {};
    for (const d of divs) {
      const y = String(yearOf(d.day));
      const e = (byYear[y] as Obj | undefined) ?? { Year: +y, Count: 0 };
      e.Count = (e.Count as number) + 1;
      byYear[y] = e;
    }

    // quirk helper for fields the schema leaves untyped
    const na = (i: number, v: Json): Json => {
      if (!sparse || q(100 + i) >= 0.5) return v;
      return pick<Json>([null, 0, 'NA', 'No Data', '', '0'], q(200 + i));
    };
    const naDate = (i: number, v: string): string => (sparse && q(100 + i) < 0.5 ? '0000-00-00' : v);
    const zero = (i: number, v: number): number => (sparse && q(100 + i) < 0.35 ? 0 : v);

    const cur = CURRENCY[quoteCurrency] ?? [quoteCurrency, quoteCurrency];
    const exch = EXCHANGES[l.exchange];
    const ipo = l.origin === 'file' && l.listDay < dayOf(1995, 1, 1) && u(9) < 0.5 ? '0000-00-00' : fmtDate(l.listDay);
    const delisted = l.delistDay <= today;

    const General: Obj = {
      Code: l.code,
      Type: 'Common Stock',
      Name: l.name,
      Exchange: l.venue,
      CurrencyCode: quoteCurrency,
      CurrencyName: cur[0],
      CurrencySymbol: cur[1],
      CountryName: exch.country === 'UK' ? 'United Kingdom' : exch.country,
      CountryISO: exch.countryISO2,
      OpenFigi: na(1, 'BBG' + String(h3(seed, S.fund, 10)).padStart(9, '0')),
      ISIN: l.isin,
      LEI: na(2, String(h3(seed, S.fund, 11)).padStart(10, '5') + 'X2H8J4K6L8M0'),
      PrimaryTicker: l.key,
      CUSIP: isUS && l.isin ? l.isin.slice(2, 11) : null,
      CIK: isUS ? na(3, String(h3(seed, S.fund, 12) % 2_000_000)) : null,
      EmployerIdNumber: isUS
        ? na(4, `${10 + (h3(seed, S.fund, 13) % 89)}-${1_000_000 + (h3(seed, S.fund, 14) % 8_999_999)}`)
        : null,
      FiscalYearEnd: 'December',
      IPODate: sparse && q(105) < 0.5 ? '0000-00-00' : ipo,
      InternationalDomestic: isUS ? 'Domestic' : 'International/Domestic',
      Sector: sparse && q(106) < 0.2 ? '' : sec.sector,
      Industry: sparse && q(106) < 0.2 ? '' : sec.industries[si],
      GicSector: sparse && q(107) < 0.3 ? 'NA' : sec.gic,
      GicGroup: sec.gic,
      GicIndustry: sec.gicIndustry[si] ?? sec.gicIndustry[0],
      GicSubIndustry: sec.gicIndustry[si] ?? sec.gicIndustry[0],
      HomeCategory: 'Domestic',
      IsDelisted: delisted,
      Description: `${l.name} operates in the ${sec.industries[si].toLowerCase()} industry. It is listed on ${exch.name}.`,
      Address: na(8, `${1 + (h3(seed, S.fund, 15) % 999)} Market Street, ${exch.country}`),
      AddressData: {
        Street: `${1 + (h3(seed, S.fund, 15) % 999)} Market Street`,
        City: 'Capital City',
        State: null,
        Country: exch.country,
        ZIP: String(10000 + (h3(seed, S.fund, 16) % 89999)),
      },
      Listings: {},
      Officers: {
        '0': {
          Name: `${pick(FIRST, u(20))} ${pick(LAST, u(21))}`,
          Title: 'Chief Executive Officer',
          YearBorn: na(9, String(1955 + Math.floor(u(22) * 25))),
        },
        '1': { Name: `${pick(FIRST, u(23))} ${pick(LAST, u(24))}`, Title: 'Chief Financial Officer', YearBorn: 'NA' },
      },
      Phone: na(10, `+${1 + (h3(seed, S.fund, 17) % 98)} ${100000000 + (h3(seed, S.fund, 18) % 899999999)}`),
      WebURL: na(11, `https://www.${l.name.split(' ')[0].toLowerCase()}.example`),
      LogoURL: `/img/logos/${l.exchange}/${l.code}.png`,
      FullTimeEmployees: na(12, Math.min(2_500_000, Math.max(3, Math.round(revenue / logUniform(u(25), 2e5, 2e6))))),
      UpdatedAt: fmtDate(today),
    };
    if (delisted) General.DelistedDate = fmtDate(l.delistDay);

    const Highlights: Obj = {
      MarketCapitalization: sparse && q(130) < 0.12 ? 0 : mcap,
      MarketCapitalizationMln: na(13, round4(mcap / 1e6)),
      EBITDA: zero(14, Math.round(ebitda)),
      PERatio: pe,
      PEGRatio: na(15, pe && growth > 0 ? round4(pe / (growth * 100)) : null),
      WallStreetTargetPrice: na(16, round4(price * (0.9 + 0.4 * u(26)))),
      BookValue: na(17, round4(bookValue)),
      DividendShare: na(18, round4(divRate)),
      DividendYield: divRate && price ? round4(divRate / price) : 0,
      EarningsShare: round4(eps),
      EPSEstimateCurrentYear: na(19, round4(eps * (1 + growth))),
      EPSEstimateNextYear: na(20, round4(eps * (1 + growth) ** 2)),
      EPSEstimateNextQuarter: na(21, round4((eps / 4) * (1 + growth / 4))),
      EPSEstimateCurrentQuarter: na(22, round4(eps / 4)),
      MostRecentQuarter: naDate(23, fmtDate(quarterEnd(today, 1))),
      ProfitMargin: round4(margin),
      OperatingMarginTTM: round4(margin + 0.05),
      ReturnOnAssetsTTM: na(24, round4(margin * 0.4)),
      ReturnOnEquityTTM: na(25, round4(margin * 1.2)),
      RevenueTTM: Math.round(revenue),
      RevenuePerShareTTM: round4(revenue / Math.max(1, shares)),
      QuarterlyRevenueGrowthYOY: round4(growth),
      GrossProfitTTM: Math.round(revenue * (0.2 + 0.4 * u(27))),
      DilutedEpsTTM: round4(eps),
      QuarterlyEarningsGrowthYOY: na(26, round4(growth * 1.5)),
    };

    const ev = mcap + revenue * 0.3 * u(28);
    const Valuation: Obj = {
      TrailingPE: pe,
      ForwardPE: zero(27, eps > 0 ? round4(price / (eps * (1 + growth))) : 0),
      PriceSalesTTM: round4(ps),
      PriceBookMRQ: na(28, bookValue > 0 ? round4(price / bookValue) : null),
      EnterpriseValue: Math.round(ev),
      EnterpriseValueRevenue: na(29, round4(ev / revenue)),
      EnterpriseValueEbitda: na(30, ebitda > 0 ? round4(ev / ebitda) : null),
    };

    const float = Math.round(shares * (0.5 + 0.45 * u(29)));
    const short = Math.round(float * 0.08 * u(30));
    const SharesStats: Obj = {
      SharesOutstanding: shares,
      SharesFloat: zero(31, float),
      PercentInsiders: na(32, round4(100 * 0.3 * u(31))),
      PercentInstitutions: round4(100 * (small ? 0.3 : 0.9) * u(32)),
      SharesShort: na(33, isUS ? short : null),
      SharesShortPriorMonth: na(34, isUS ? Math.round(short * (0.8 + 0.4 * u(33))) : null),
      ShortRatio: na(35, isUS ? round4(10 * u(34)) : null),
      ShortPercentOutstanding: na(36, isUS ? round4(short / shares) : null),
      ShortPercentFloat: na(37, isUS ? round4(short / float) : null),
    };

    const Technicals: Obj = {
      Beta: zero(38, p.beta),
      '52WeekHigh': y250.length ? round4(Math.max(...y250.map((b) => b.high)) / major) : 0,
      '52WeekLow': y250.length ? round4(Math.min(...y250.map((b) => b.low)) / major) : 0,
      '50DayMA': ma(50),
      '200DayMA': ma(200),
      SharesShort: na(39, isUS ? short : 0),
      SharesShortPriorMonth: na(40, isUS ? short : 0),
      ShortRatio: na(41, isUS ? round4(10 * u(34)) : 0),
      ShortPercent: na(42, isUS ? round4(short / float) : 0),
    };

    const SplitsDividends: Obj = {
      // Some documents write numbers as strings, "0" for a company that pays nothing.
      ForwardAnnualDividendRate: q(131) < 0.3 ? String(round4(divRate)) : round4(divRate),
      ForwardAnnualDividendYield: divRate && price ? round4(divRate / price) : 0,
      PayoutRatio: eps > 0 && divRate ? round4(divRate / eps) : 0,
      ExDividendDate: lastDiv ? naDate(43, fmtDate(lastDiv.day)) : '0000-00-00',
      LastSplitFactor: lastSplit ? `${lastSplit.newShares}:${lastSplit.oldShares}` : '',
      LastSplitDate: lastSplit ? fmtDate(lastSplit.day) : '0000-00-00',
      NumberDividendsByYear: byYear,
    };
    if (divRate && price) SplitsDividends.DividendYield = round4(divRate / price);
    if (lastDiv && lastDiv.paymentDay !== null) SplitsDividends.DividendDate = fmtDate(lastDiv.paymentDay);

    const buy = Math.floor(u(35) * 12);
    const AnalystRatings: Obj = {
      Rating: round4(1 + 4 * u(36)),
      TargetPrice: round4(price * (0.85 + 0.5 * u(37))),
      StrongBuy: Math.floor(u(38) * 10),
      Buy: buy,
      Hold: Math.floor(u(39) * 10),
      Sell: Math.floor(u(40) * 3),
      StrongSell: Math.floor(u(41) * 2),
    };

    const holder = (names: string[], i: number): Obj => ({
      name: pick(names, u(50 + i)),
      date: fmtDate(quarterEnd(today, 1)),
      totalShares: round4(0.5 + 8 * u(60 + i)),
      totalAssets: round4(0.01 + 2 * u(70 + i)),
      currentShares: Math.round(shares * 0.01 * (1 + 5 * u(80 + i))),
      change: Math.round(shares * 0.001 * (u(90 + i) - 0.5)),
      change_p: round4(20 * (u(90 + i) - 0.5)),
    });
    const Holders: Obj = {
      Institutions: Array.from({ length: 4 + Math.floor(u(42) * 6) }, (_, i) => holder(INSTITUTIONS, i)),
      Funds: Array.from({ length: 3 + Math.floor(u(43) * 4) }, (_, i) => holder(FUNDS, 20 + i)),
    };

    const insiders: Obj[] = [];
    const nIns = isUS ? Math.floor(u(44) * 8) : Math.floor(u(44) * 2);
    for (let i = 0; i < nIns; i++) {
      const d = today - 5 - Math.floor(u3(seed, S.fund, 300 + i) * 170);
      const sell = u3(seed, S.fund, 320 + i) < 0.7;
      const amount = Math.round(1000 + 50000 * u3(seed, S.fund, 340 + i));
      insiders.push({
        date: fmtDate(d),
        ownerCik: null,
        ownerName: `${pick(FIRST, u3(seed, S.fund, 360 + i))} ${pick(LAST, u3(seed, S.fund, 380 + i))}`,
        transactionDate: fmtDate(d - 2),
        transactionCode: sell ? 'S' : 'P',
        transactionAmount: amount,
        transactionPrice: round4(price * (0.95 + 0.1 * u3(seed, S.fund, 400 + i))),
        transactionAcquiredDisposed: sell ? 'D' : 'A',
        postTransactionAmount: na(44, amount * 3),
        secLink: isUS ? `https://www.sec.gov/Archives/edgar/data/${h3(seed, S.fund, 12) % 2_000_000}/` : null,
      });
    }
    insiders.sort((a, b) => String(b.date).localeCompare(String(a.date)));

    const esg = (i: number) => round4(5 + 25 * u(110 + i));
    const ESGScores: Obj = {
      Disclaimer: 'Simulated data',
      RatingDate: fmtDate(addMonths(today, -2)),
      TotalEsg: esg(0) + esg(1),
      TotalEsgPercentile: na(45, round4(100 * u(113))),
      environmentScore: esg(2),
      socialScore: esg(3),
      governanceScore: esg(4),
      ControversyLevel: na(46, Math.floor(u(114) * 5)),
      ActivitiesInvolvement: {},
    };

    // shares history: annual year ends and quarter ends, before today
    const annualDates = [1, 2, 3, 4, 5].map((k) => dayOf(yearOf(today) - k, 12, 31)).filter((d) => d >= l.listDay);
    const quarterDates = [1, 2, 3, 4, 5, 6, 7, 8].map((k) => quarterEnd(today, k)).filter((d) => d >= l.listDay);
    const sharesAt = (d: number) => Math.round(m.sharesOn(l, d) * (1 - 0.01 * ((today - d) / 365) * u(45)));
    const outstandingShares: Obj = {
      annual: annualDates.map((d) => ({
        date: fmtDate(d),
        dateFormatted: fmtDate(d),
        sharesMln: (sharesAt(d) / 1e6).toFixed(4),
        shares: sharesAt(d),
      })),
      quarterly: quarterDates.map((d) => ({
        date: fmtDate(d),
        dateFormatted: fmtDate(d),
        sharesMln: (sharesAt(d) / 1e6).toFixed(4),
        shares: sharesAt(d),
      })),
    };

    // ----- the statements and earnings reports: each period's figures are fixed once it is
    // reported (they do not move with the price or the day asked), a period appears after its
    // filing delay, and a few periods are restated later (new figures, a later filing_date).
    // Deterministic from the ticker's seed and the period's end.
    const per = (d: number, i: number) => u3(h3(seed, S.fund, d), S.quirk, i);
    const revenueRef = (p.sharesOut * Math.exp(p.mu)) / p.major / ps; // at the listing's base price
    const filed = (d: number) => d + 30 + (h3(seed, S.fund, d) % 45);
    const restatedOn = (d: number) =>
      per(d, 9) < RESTATED_SHARE ? filed(d) + 90 + Math.floor(per(d, 10) * 200) : null;
    const revenueOf = (d: number, scale: number, asOf: number) => {
      const r = restatedOn(d);
      const restate = r !== null && r <= asOf ? 0.94 + 0.12 * per(d, 11) : 1;
      return (
        revenueRef * (1 + growth) ** ((d - BASE_DAY) / 365) * (0.9 + 0.2 * per(d, scale < 1 ? 0 : 1)) * scale * restate
      );
    };
    const sharesOf = (d: number) => m.sharesOn(l, Math.min(d, lastDay));
    // Periods public on `today`: the last 6 fiscal years (5-year growth needs 6) and 8 quarters.
    const reportedYears = [0, 1, 2, 3, 4, 5, 6]
      .map((k) => dayOf(yearOf(today) - k, 12, 31))
      .filter((d) => d >= l.listDay && filed(d) <= today)
      .slice(0, 6);
    const reportedQuarters = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
      .map((k) => quarterEnd(today, k))
      .filter((d) => d >= l.listDay && filed(d) <= today)
      .slice(0, 8);
    const history = [0, 1, 2, 3, 4, 5, 6, 7, 8]
      .map((k) => quarterEnd(today, k))
      .filter((d) => d >= l.listDay)
      .map((d) => {
        // The earnings release keeps its first figures (a restatement does not change it).
        const actual = round4((revenueOf(d, 0.25, 0) * margin) / Math.max(1, sharesOf(d)));
        const est = round4(actual * (0.9 + 0.2 * per(d, 12)));
        return {
          reportDate: fmtDate(d + 25 + (h3(seed, S.fund, d + 1) % 20)),
          date: fmtDate(d),
          beforeAfterMarket: pick(['BeforeMarket', 'AfterMarket'], per(d, 13)),
          currency: l.currency === 'GBX' ? 'GBP' : l.currency,
          epsActual: actual,
          epsEstimate: sparse && per(d, 14) < 0.3 ? null : est,
          epsDifference: round4(actual - est),
          surprisePercent: est ? round4(((actual - est) / Math.abs(est)) * 100) : null,
        } as Obj;
      })
      .filter((h) => parseDay(h.reportDate as string) <= today)
      .slice(0, 8);
    const Earnings: Obj = {
      History: history,
      Trend: ['0q', '+1q', '0y', '+1y'].map((period, k) => ({
        date: fmtDate(quarterEnd(today, -k)),
        period,
        growth: na(47 + k, round4(growth)),
        earningsEstimateAvg: round4(period.endsWith('q') ? eps / 4 : eps * (1 + growth)),
        epsEstimateAvg: round4(period.endsWith('q') ? eps / 4 : eps * (1 + growth)),
        earningsEstimateNumberOfAnalysts: Math.floor(u(46 + k) * 20),
      })),
      Annual: annualDates.map((d, k) => ({ date: fmtDate(d), epsActual: round4(eps * (1 + growth) ** -(k + 1)) })),
    };

    const statements = (dates: number[], scale: number, kind: 'bs' | 'is' | 'cf') =>
      dates.map((d) => {
        const rev = revenueOf(d, scale, today);
        const ni = rev * margin;
        const restated = restatedOn(d);
        const blank = (i: number, v: number): Json => (sparse && per(d, 20 + i) < 0.15 ? null : money(v));
        const base: Obj = {
          date: fmtDate(d),
          filing_date: fmtDate(restated !== null && restated <= today ? restated : filed(d)),
          currency_symbol: l.currency === 'GBX' ? 'GBP' : l.currency,
        };
        if (kind === 'is')
          return {
            ...base,
            totalRevenue: money(rev),
            costOfRevenue: blank(1, rev * 0.6),
            grossProfit: blank(2, rev * 0.4),
            operatingIncome: blank(3, rev * (margin + 0.05)),
            ebitda: blank(4, rev * (margin + 0.12)),
            incomeBeforeTax: blank(5, ni * 1.25),
            incomeTaxExpense: blank(6, ni * 0.25),
            netIncome: money(ni),
            researchDevelopment: blank(7, rev * 0.05),
            sellingGeneralAdministrative: blank(8, rev * 0.15),
          };
        if (kind === 'cf')
          return {
            ...base,
            totalCashFromOperatingActivities: money(ni * 1.3 + rev * 0.05),
            capitalExpenditures: blank(1, -rev * 0.06),
            freeCashFlow: blank(2, ni * 1.3 - rev * 0.01),
            dividendsPaid: blank(3, -rev * p.divYield * 0.2),
            netIncome: money(ni),
            changeInCash: blank(4, rev * 0.02 * (per(d, 15) - 0.5)),
          };
        const assets = (rev * 1.5) / scale;
        return {
          ...base,
          totalAssets: money(assets),
          totalLiab: money(assets * 0.55),
          totalStockholderEquity: money(assets * 0.45),
          cash: blank(1, assets * 0.1),
          shortTermInvestments: blank(2, assets * 0.03),
          netReceivables: blank(3, assets * 0.08),
          inventory: blank(4, assets * 0.06),
          totalCurrentAssets: blank(5, assets * 0.3),
          totalCurrentLiabilities: blank(6, assets * 0.2),
          longTermDebt: blank(7, assets * 0.25),
          commonStockSharesOutstanding: money(sharesOf(d)),
        };
      });
    const Financials: Obj = {
      Balance_Sheet: {
        currency_symbol: l.currency === 'GBX' ? 'GBP' : l.currency,
        annual: statements(reportedYears, 1, 'bs'),
        quarterly: statements(reportedQuarters, 0.25, 'bs'),
      },
      Income_Statement: {
        currency_symbol: l.currency === 'GBX' ? 'GBP' : l.currency,
        annual: statements(reportedYears, 1, 'is'),
        quarterly: statements(reportedQuarters, 0.25, 'is'),
      },
      Cash_Flow: {
        currency_symbol: l.currency === 'GBX' ? 'GBP' : l.currency,
        annual: statements(reportedYears, 1, 'cf'),
        quarterly: statements(reportedQuarters, 0.25, 'cf'),
      },
    };

    // whole sections as the string "NA"
    const naShare = (small ? 2 : 1) * (isUS ? 1 : 1.5);
    const sectionNA = (i: number, share: number) => q(900 + i) < share * naShare;

    return {
      General,
      Highlights,
      Valuation,
      SharesStats,
      Technicals,
      SplitsDividends,
      AnalystRatings: sectionNA(0, 0.02) ? 'NA' : AnalystRatings,
      Holders: sectionNA(1, 0.015) ? 'NA' : Holders,
      InsiderTransactions: sectionNA(2, 0.015) ? 'NA' : insiders,
      ESGScores: sectionNA(3, 0.04) ? 'NA' : ESGScores,
      outstandingShares,
      Earnings,
      Financials,
    };
  }

  /** An exchange-traded fund: General with a Category, Technicals, and ETF_Data. */
  private buildEtf(l: Listing, today: number): Obj {
    const u = (i: number) => u3(l.seed, S.fund, i);
    const quoteCurrency = currencyOn(l, today);
    const major = unitsPerMajor(quoteCurrency);
    const m = this.market;
    const lastDay = m.lastDataDay(l, today);
    const hist = m.history(l, lastDay - 380, lastDay, today, 'base');
    const y250 = hist.slice(-250);
    const price = (hist[hist.length - 1]?.close ?? Math.exp(l.params.mu)) / major;
    const cur = CURRENCY[quoteCurrency] ?? [quoteCurrency, quoteCurrency];
    const exch = EXCHANGES[l.exchange];
    const totalAssets = Math.round(logUniform(u(1), 5e8, 5e11));
    const ret = (i: number, span: number) => (100 * (0.03 + 0.12 * u(10 + i)) * span).toFixed(2);
    return {
      General: {
        Code: l.code,
        Type: 'ETF',
        Name: l.name,
        Exchange: l.venue,
        CurrencyCode: quoteCurrency,
        CurrencyName: cur[0],
        CurrencySymbol: cur[1],
        CountryName: exch.country === 'UK' ? 'United Kingdom' : exch.country,
        CountryISO: exch.countryISO2,
        OpenFigi: 'BBG' + String(h3(l.seed, S.fund, 10)).padStart(9, '0'),
        Description: `${l.name} seeks to track the performance of its benchmark index.`,
        Category: pick(['Large Blend', 'Global Large-Cap Blend Equity', 'UK Large-Cap Equity', 'Large Growth'], u(2)),
        UpdatedAt: fmtDate(today),
      },
      Technicals: {
        Beta: round4(0.85 + 0.3 * u(3)),
        '52WeekHigh': y250.length ? round4(Math.max(...y250.map((b) => b.high)) / major) : 0,
        '52WeekLow': y250.length ? round4(Math.min(...y250.map((b) => b.low)) / major) : 0,
        '50DayMA': round4(price * (0.97 + 0.04 * u(4))),
        '200DayMA': round4(price * (0.9 + 0.1 * u(5))),
      },
      ETF_Data: {
        ISIN: l.isin ?? '',
        Company_Name: l.name.split(' ')[0],
        Domicile: l.exchange === 'US' ? 'United States' : 'Ireland',
        Index_Name: pick(
          ['S&P 500 TR USD', 'MSCI World NR USD', 'FTSE 100 TR GBP', 'CRSP US Total Market TR USD'],
          u(6),
        ),
        // Percent, as a string; "0.00" for an accumulating fund.
        Yield: l.name.includes('(Acc)') ? '0.00' : (0.8 + 2.2 * u(7)).toFixed(4),
        Dividend_Paying_Frequency: l.name.includes('(Acc)') ? 'None' : 'Quarterly',
        Inception_Date: fmtDate(l.listDay),
        Max_Annual_Mgmt_Charge: (0.05 + 0.4 * u(8)).toFixed(4),
        Ongoing_Charge: (0.03 + 0.2 * u(8)).toFixed(4),
        // A fraction, as a string.
        NetExpenseRatio: (0.0003 + 0.002 * u(8)).toFixed(5),
        AnnualHoldingsTurnover: (2 + 30 * u(9)).toFixed(5),
        TotalAssets: totalAssets.toFixed(2),
        Holdings_Count: 100 + Math.floor(u(20) * 3500),
        Market_Capitalisation: {
          Mega: '40.90849',
          Big: '30.64542',
          Medium: '19.68254',
          Small: '6.39806',
          Micro: '2.14857',
        },
        Asset_Allocation: {
          Cash: { 'Long_%': '0.23903', 'Short_%': '0.02578', 'Net_Assets_%': '0.21325' },
          'Stock US': { 'Long_%': '99.18922', 'Short_%': '0', 'Net_Assets_%': '99.18922' },
        },
        MorningStar: {
          Ratio: String(1 + Math.floor(u(21) * 5)),
          Category_Benchmark: 'S&P 500 TR USD',
          Sustainability_Ratio: String(1 + Math.floor(u(22) * 5)),
        },
        Performance: {
          '1y_Volatility': (8 + 10 * u(23)).toFixed(2),
          '3y_Volatility': (10 + 10 * u(24)).toFixed(2),
          Returns_YTD: ret(0, 0.9),
          Returns_1Y: ret(1, 1),
          Returns_3Y: ret(2, 1),
          Returns_5Y: ret(3, 1),
          Returns_10Y: ret(4, 1),
        },
      },
    };
  }

  /** A mutual fund: General with the fund's family and category, and MutualFund_Data. */
  private buildFund(l: Listing, today: number): Obj {
    const u = (i: number) => u3(l.seed, S.fund, i);
    const m = this.market;
    const lastDay = m.lastDataDay(l, today);
    const last = m.history(l, lastDay - 10, lastDay, today, 'base').at(-1);
    const nav = last ? last.close : Math.exp(l.params.mu);
    const category = pick(['Large Blend', 'Large Growth', 'Large Value'], u(2));
    return {
      General: {
        Code: l.code,
        Type: 'FUND',
        Name: l.name,
        Exchange: l.venue,
        CurrencyCode: l.currency,
        CurrencyName: 'US Dollar',
        CurrencySymbol: '$',
        CountryName: 'USA',
        CountryISO: 'US',
        OpenFigi: 'BBG' + String(h3(l.seed, S.fund, 10)).padStart(9, '0'),
        ISIN: l.isin,
        CUSIP: l.isin ? l.isin.slice(2, 11) : null,
        Fund_Summary: `${l.name} seeks to track the total return of the S&P 500 Index.`,
        Fund_Family: l.name.split(' ')[0] + ' Funds',
        Fund_Category: category,
        Fund_Style: category,
        Fiscal_Year_End: 'October',
        // Mutual funds carry a market capitalisation of 0: not available.
        MarketCapitalization: 0,
      },
      MutualFund_Data: {
        Fund_Category: category,
        Fund_Style: category,
        Nav: nav.toFixed(2),
        Prev_Close_Price: (nav * 0.995).toFixed(2),
        Update_Date: fmtDate(lastDay),
        Portfolio_Net_Assets: Math.round(logUniform(u(1), 1e9, 9e11)).toFixed(2),
        Share_Class_Net_Assets: Math.round(logUniform(u(3), 5e8, 5e11)).toFixed(2),
        Morning_Star_Rating: 1 + Math.floor(u(4) * 5),
        Morning_Star_Risk_Rating: 1 + Math.floor(u(5) * 5),
        Morning_Star_Category: category,
        Inception_Date: fmtDate(l.listDay),
        Currency: l.currency,
        Domicile: 'United States',
        // Percent, as strings.
        Yield: (0.8 + 1.5 * u(6)).toFixed(2),
        Yield_YTD: (10 + 20 * u(7)).toFixed(2),
        Yield_1Year_YTD: (12 + 20 * u(8)).toFixed(2),
        Yield_3Year_YTD: (6 + 10 * u(9)).toFixed(2),
        Yield_5Year_YTD: (8 + 10 * u(10)).toFixed(2),
        Expense_Ratio: (0.02 + 0.5 * u(11)).toFixed(2),
        Expense_Ratio_Date: fmtDate(addMonths(today, -6)),
        Asset_Allocation: {
          '0': {
            'Net_%': '0.34539',
            'Long_%': '0.34539',
            Type: 'Cash',
            'Short_%': null,
            Category_Average: '1.39629',
            Benchmark: '0.00000',
          },
        },
        Top_Holdings: { '0': { Name: 'Apple Inc', Weight: '6.88%' }, '1': { Name: 'Microsoft Corp', Weight: '6.68%' } },
      },
    };
  }

  /** What a ticker without fundamentals coverage gets (the `na-fundamentals` fault). */
  buildNA(l: Listing, today: number): Obj {
    const full = this.build(l, today);
    const out: Obj = { General: full.General };
    for (const k of Object.keys(full)) if (k !== 'General') out[k] = 'NA';
    return out;
  }
}

function parseDay(s: string): number {
  const [y, m, d] = s.split('-').map(Number);
  return dayOf(y, m, d);
}

/** End of the k-th calendar quarter before the one containing `today` (k = 0: current; negative: future). */
function quarterEnd(today: number, k: number): number {
  const [y, mo] = ymd(today);
  const q = Math.floor((mo - 1) / 3) - k; // quarter index relative to year y
  const yy = y + Math.floor(q / 4);
  const qq = ((q % 4) + 4) % 4;
  return dayOf(yy, qq * 3 + 4, 1) - 1; // day before the first day of the next quarter
}

/** Apply EODHD's `filter=` to a document: one section (or `A::B` path) gives its value; several give an object keyed by them. */
export function applyFilter(doc: Obj, filter: string): Json | undefined {
  const parts = filter
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const get = (path: string): Json | undefined => {
    let v: Json | undefined = doc;
    for (const k of path.split('::')) {
      if (v && typeof v === 'object' && !Array.isArray(v) && k in v) v = (v as Obj)[k];
      else return undefined;
    }
    return v;
  };
  if (parts.length === 1) return get(parts[0]);
  const out: Obj = {};
  let any = false;
  for (const part of parts) {
    const v = get(part);
    if (v !== undefined) {
      out[part] = v;
      any = true;
    }
  }
  return any ? out : undefined;
}

export type { Json, Obj };
