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
  volume: z.number().finite().nonnegative().transform((v) => Math.round(v)),
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
});
export type SymbolListItem = z.infer<typeof SymbolListItemSchema>;

export const UserSchema = z.object({
  apiRequests: z.number().int().nonnegative(),
  apiRequestsDate: isoDate,
  dailyRateLimit: z.number().int().nonnegative(),
  extraLimit: z.number().int().nonnegative().optional(),
});
export type User = z.infer<typeof UserSchema>;

/** A fundamentals document: an object with a General section; the rest is kept as it came. */
export const FundamentalsSchema = z.looseObject({
  General: z.looseObject({ Code: z.string().optional() }),
});
export type Fundamentals = z.infer<typeof FundamentalsSchema>;

export function parseRows<T>(schema: z.ZodType<T>, value: unknown): { rows: T[]; dropped: number } {
  if (!Array.isArray(value)) throw new TypeError(`expected a JSON array, got ${value === null ? 'null' : typeof value}`);
  const rows: T[] = [];
  let dropped = 0;
  for (const item of value) {
    const r = schema.safeParse(item);
    if (r.success) rows.push(r.data);
    else dropped++;
  }
  return { rows, dropped };
}

export const CalendarSplitsSchema = z.object({
  splits: z.array(z.looseObject({
    code: z.string().min(1),
    split_date: isoDate,
    old_shares: z.number().nullish(),
    new_shares: z.number().nullish(),
  })),
});
export type CalendarSplits = z.infer<typeof CalendarSplitsSchema>;

export const CalendarDividendsSchema = z.object({
  meta: z.looseObject({ total: z.number().int().nonnegative() }).optional(),
  data: z.array(z.looseObject({ date: isoDate, symbol: z.string().min(1) })),
  links: z.looseObject({ next: z.string().nullish() }).optional(),
});
export type CalendarDividends = z.infer<typeof CalendarDividendsSchema>;
