/**
 * Numbers as the pages show them, by the unit a field documents (screen-fields.ts,
 * store/fundamentals.ts): money with its currency (big amounts as 1.2B), fractions and
 * percents with %, shares compact, ratios with two decimals. The JSON answers keep the raw
 * values; only the pages format.
 */

const en = (v: number, digits: number) =>
  v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** 1234567 -> 1.23M, 2.5e9 -> 2.5B; under ten thousand as it is. */
export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e12) return `${en(v / 1e12, 2)}T`;
  if (a >= 1e9) return `${en(v / 1e9, 2)}B`;
  if (a >= 1e6) return `${en(v / 1e6, 2)}M`;
  if (a >= 1e4) return `${en(v / 1e3, 1)}K`;
  return plain(v);
}

/** Two decimals, or three significant digits for a small value (a slope, a MACD of a penny stock). */
export function plain(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && a < 0.01) return v.toPrecision(3);
  if (Number.isInteger(v) && a >= 1000) return en(v, 0);
  return en(v, 2);
}

/** A money amount in its currency: prices with two decimals, big amounts compact. */
export function money(v: number, currency: string | null): string {
  const text = Math.abs(v) >= 1e6 ? compact(v) : plain(v);
  return currency ? `${text} ${currency}` : text;
}

/**
 * A value of a field with this unit. `unit` is the field's documented unit; money is in
 * `currency`. Null and undefined are empty; text is shown as it is.
 */
export function formatValue(value: unknown, unit: string, currency: string | null): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(String).join(', ');
  if (value instanceof Date) return value.toISOString().replace('T', ' ').slice(0, 19);
  if (typeof value !== 'number') return String(value);
  if (!Number.isFinite(value)) return String(value);
  const u = unit.toLowerCase();
  if (u.startsWith('money') || u.startsWith('price')) return money(value, currency);
  if (u.startsWith('fraction')) return `${en(value * 100, 2)}%`;
  if (u.startsWith('percent')) return `${en(value, 2)}%`;
  if (u.startsWith('shares')) return compact(value);
  return plain(value);
}
