/**
 * Zod schemas for what EODHD answers. Rows are parsed one by one: a malformed row is
 * dropped and counted, it does not fail the whole answer (a bulk answer has thousands).
 */
import { z } from 'zod';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const price = z.number().finite().nonnegative();

export const EodBarSchema = z.object({
  date: isoDate,
  open: price,
  high: price,
  low: price,
  close: price,
  adjusted_close: z.number().finite(),
  // Kept as given: some exchanges report fractional volumes (1182479.74).
  volume: z.number().finite().nonnegative(),
});
export type EodBar = z.infer<typeof EodBarSchema>;

export const BulkEodRowSchema = EodBarSchema.extend({
  code: z.string().min(1),
  exchange_short_name: z.string().min(1),
});
export type BulkEodRow = z.infer<typeof BulkEodRowSchema>;

export const SymbolListItemSchema = z.object({
  Code: z.string().min(1),
  Name: z.string().nullish(),
  Country: z.string().nullish(),
  Exchange: z.string().nullish(),
  Currency: z.string().nullish(),
  Type: z.string().nullish(),
  Isin: z.string().nullish(),
  /** Only in delisted=1 answers (true there). */
  IsDelisted: z.boolean().nullish(),
});
export type SymbolListItem = z.infer<typeof SymbolListItemSchema>;

const hhmmss = z.string().regex(/^\d{2}:\d{2}(:\d{2})?$/);
const DaySchema = z.object({
  Holiday: z.string().nullish(),
  Date: isoDate,
  Type: z.string().nullish(),
});
// EODHD writes these maps as objects keyed "0", "1", ... (an empty one may come as []).
const dayMap = z.union([z.record(z.string(), DaySchema), z.array(DaySchema)]).transform((m) => Object.values(m));

/** /exchange-details/{EX}: the time zone, the hours and the holidays of a range. */
export const ExchangeDetailsSchema = z.object({
  Code: z.string().min(1),
  Timezone: z.string().min(1),
  TradingHours: z.object({
    Open: hhmmss.nullish(),
    Close: hhmmss,
    WorkingDays: z.string().nullish(),
  }),
  ExchangeHolidays: dayMap.nullish().transform((v) => v ?? []),
  ExchangeEarlyCloseDays: dayMap.nullish().transform((v) => v ?? []),
});
export type ExchangeDetails = z.infer<typeof ExchangeDetailsSchema>;

export const UserSchema = z.object({
  apiRequests: z.number().int().nonnegative(),
  apiRequestsDate: isoDate,
  dailyRateLimit: z.number().int().nonnegative(),
  extraLimit: z
    .number()
    .int()
    .nonnegative()
    .nullish()
    .transform((v) => v ?? 0),
  subscriptionType: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  subscriptionMode: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  // Display names EODHD does not document: a hint of what the plan includes, no more.
  availableDataFeeds: z
    .array(z.string())
    .nullish()
    .transform((v) => v ?? []),
});
export type User = z.infer<typeof UserSchema>;

/** A fundamentals document: an object with a General section; the rest is kept as it came. */
export const FundamentalsSchema = z.looseObject({
  General: z.looseObject({ Code: z.string().optional(), Type: z.string().optional() }),
});
export type Fundamentals = z.infer<typeof FundamentalsSchema>;

/** What /fundamentals answers, with a 200, for a symbol it has no document for: {"error": "Not found"}. */
export const ErrorBodySchema = z.looseObject({ error: z.string().min(1) });

/** An element among a history's bars that is a message, not a bar (the free plan's "Data is limited by one year ..."). */
const WarningSchema = z.looseObject({ warning: z.string().min(1) });

export interface ParsedRows<T> {
  rows: T[];
  dropped: number;
  warnings: string[];
}

export function parseRows<T>(schema: z.ZodType<T>, value: unknown): ParsedRows<T> {
  if (!Array.isArray(value))
    throw new TypeError(`expected a JSON array, got ${value === null ? 'null' : typeof value}`);
  const rows: T[] = [];
  const warnings: string[] = [];
  let dropped = 0;
  for (const item of value) {
    const r = schema.safeParse(item);
    if (r.success) rows.push(r.data);
    else {
      const w = WarningSchema.safeParse(item);
      if (w.success) warnings.push(w.data.warning.slice(0, 500));
      else dropped++;
    }
  }
  return { rows, dropped, warnings };
}

/** A row of the bulk splits answer (type=splits): "2.000000/1.000000". */
export const BulkSplitRowSchema = z.looseObject({
  code: z.string().min(1),
  date: isoDate,
  split: z.string().nullish(),
});
/** A row of the bulk dividends answer (type=dividends). */
export const BulkDividendRowSchema = z.looseObject({ code: z.string().min(1), date: isoDate });

export const CalendarSplitsSchema = z.object({
  splits: z.array(
    z.looseObject({
      code: z.string().min(1),
      split_date: isoDate,
      old_shares: z.number().nullish(),
      new_shares: z.number().nullish(),
    }),
  ),
});

export const CalendarDividendsSchema = z.object({
  meta: z.looseObject({ total: z.number().int().nonnegative() }).optional(),
  data: z.array(z.looseObject({ date: isoDate, symbol: z.string().min(1) })),
  links: z.looseObject({ next: z.string().nullish() }).optional(),
});
