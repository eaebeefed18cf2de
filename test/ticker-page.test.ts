/**
 * The ticker page (shared/screen/ticker.ts reads, ticker-page.ts renders) over a simulated
 * world of two runs: the first loads the sample with a bad tick that stays quarantined and a
 * volume spike, the second (two sessions later) sees the simulator's anchored split. The page
 * of a known symbol has its chart (the close with a gap at the quarantined bar, the 50/200
 * averages and the bands from the indicator history of the same sessions, a volume bar per
 * session, split, dividend and finding markers), the latest indicators and fundamentals, the
 * history, the audit trail and the reset form; a malformed symbol is a 400, an unknown one a
 * 404; the JSON is the same data, prices in the major unit.
 */

import test from 'ava';
import { inProcessPipeline } from '../dev/in-process.js';
import type { Simulator } from '../dev/simulator/index.js';
import { showTicker, type Ticker } from '../shared/screen/ticker.js';
import type { TestDb } from './helpers/db.js';
import { closeWorld, openWorld, TEST_TODAY } from './helpers/world.js';

let tdb: TestDb;
let sim: Simulator;
const QUARANTINED = 'MSFT.US'; // high below low on TEST_TODAY, never corrected: an open error
let WARNED = ''; // volume x200 on TEST_TODAY: a warning
let SPLIT = ''; // the simulator's anchored US split, two sessions after TEST_TODAY

const html = async (symbol: string, sessions?: number) => {
  const r = await showTicker(tdb.pool, symbol, { html: true, sessions });
  return { ...r, text: String(r.body) };
};
const json = async (symbol: string, sessions?: number) => {
  const r = await showTicker(tdb.pool, symbol, { html: false, sessions });
  return { ...r, ticker: r.body as Ticker };
};
const rows = async <T = Record<string, unknown>>(sql: string, args: unknown[] = []) =>
  (await tdb.pool.query(sql, args)).rows as T[];
const count = (text: string, re: RegExp) => [...text.matchAll(re)].length;

test.before(async () => {
  ({ tdb, sim } = await openWorld());
  const p = await inProcessPipeline(tdb.pool, sim.url);
  WARNED = sim.symbols().filter((s) => s.endsWith('.US') && s !== QUARANTINED)[5]!;
  sim.injectBadTick(QUARANTINED, TEST_TODAY, 'ohlc_order', { correctedAfterDays: null });
  sim.injectBadTick(WARNED, TEST_TODAY, 'volume_spike', { correctedAfterDays: null });
  await p.run();
  sim.advanceTradingDays(2);
  await p.run();
  SPLIT =
    (
      await rows<{ symbol: string }>(`SELECT symbol FROM corporate_actions WHERE kind = 'split' ORDER BY date LIMIT 1`)
    )[0]?.symbol ?? '';
});
test.after.always(async () => {
  await closeWorld(tdb, sim);
});

test('the page of a known symbol: its chart (close, 50/200 averages, bands, volume, axes), tables, audit trail and reset form', async (t) => {
  const symbol = 'AAPL.US';
  const r = await html(symbol);
  t.is(r.status, 200);
  t.regex(r.headers?.['content-type'] ?? '', /text\/html/);
  const csp = r.headers?.['content-security-policy'] ?? '';
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  t.truthy(nonce, csp);
  t.regex(csp, /default-src 'none'/);
  t.is(count(r.text, /<script/g), 1, 'one script');
  t.true(r.text.includes(`<script nonce="${nonce}">`), 'and it carries the nonce');
  t.false(/ on[a-z]+=/i.test(r.text), 'no inline handlers');
  t.false(/(src|href)="(https?:)?\/\//.test(r.text), 'nothing from elsewhere');

  const stored = (
    await rows<{ n: number }>(
      `SELECT count(*)::int AS n FROM stock_prices p JOIN assets a ON a.id = p.asset_id WHERE a.symbol = $1`,
      [symbol],
    )
  )[0]!.n;
  const sessions = Math.min(stored, 504);
  t.true(sessions > 250, `${sessions} sessions`);
  // The close: one unbroken line over every session (no bar of AAPL is quarantined).
  const close = /<path class="close" d="([^"]*)"/.exec(r.text)?.[1] ?? '';
  t.is(count(close, /M/g), 1);
  t.is(count(close, /[ML]/g), sessions);
  // The averages and the bands, from the indicator history of the same sessions.
  const history = (
    await rows<{ sma50: number; sma200: number; bb: number }>(
      `SELECT count(h.sma_50)::int AS sma50, count(h.sma_200)::int AS sma200, count(h.bb_upper)::int AS bb
       FROM (SELECT p.asset_id, p.date FROM stock_prices p JOIN assets a ON a.id = p.asset_id WHERE a.symbol = $1
              ORDER BY p.date DESC LIMIT 504) p
       LEFT JOIN indicator_history h ON h.asset_id = p.asset_id AND h.date = p.date`,
      [symbol],
    )
  )[0]!;
  t.true(history.sma200 > 100, 'the history covers the chart');
  const path = (cls: string) => new RegExp(`<path class="${cls}" d="([^"]*)"`).exec(r.text)?.[1] ?? '';
  t.is(count(path('sma50'), /[ML]/g), history.sma50);
  t.is(count(path('sma200'), /[ML]/g), history.sma200);
  t.is(count(path('bb-upper'), /[ML]/g), history.bb);
  t.is(count(path('bb-lower'), /[ML]/g), history.bb);
  t.true(path('band-fill').endsWith('Z'), 'the area between the bands');
  // Volume: a bar per session; axes: prices, volume, months.
  t.is(count(r.text, /<rect class="vol/g), sessions);
  t.true(count(r.text, /class="ylabel"/g) >= 5);
  t.true(count(r.text, /class="xlabel"[^>]*>\d{4}-\d{2}</g) >= 6, 'month labels');
  t.regex(r.text, /aria-label="AAPL\.US: adjusted close in USD over \d+ sessions/);
  // The exchange by its name; the latest indicators and fundamentals with their day.
  t.true(r.text.includes('US (NYSE, NASDAQ, ...) (US)'));
  t.regex(r.text, /<h3>Indicators<\/h3><table>.*rsi_14/s);
  t.regex(r.text, /Fetched \d{4}-\d{2}-\d{2} /);
  t.regex(r.text, /<table class="history">/);
  // The audit trail: every operation kept for it, newest first.
  const audit = (
    await rows<{ n: number }>(`SELECT count(*)::int AS n FROM v_ticker_processing_history WHERE symbol = $1`, [symbol])
  )[0]!.n;
  t.true(audit >= 3);
  const auditTable = /<table class="audit">(.*?)<\/table>/s.exec(r.text)?.[1] ?? '';
  t.is(count(auditTable, /<tr>/g) - 1, Math.min(audit, 100));
  // The reset form: the status function, two levels up, with the operator field.
  t.regex(
    r.text,
    /<form method="dialog" data-endpoint="\.\.\/\.\.\/status" data-output="reset-out"><input type="hidden" name="action" value="reset"><input type="hidden" name="symbol" value="AAPL\.US">/,
  );
  t.regex(r.text, /<input type="password" id="operator-credential"/);
  t.regex(r.text, /<a href="\.\.\/\.\.\/screen">/);
  t.regex(r.text, /<a href="AAPL\.US\?sessions=252">1 year<\/a>/);
});

test('splits, dividends and data-quality findings are marked on their days; a quarantined bar is a gap in the close', async (t) => {
  t.truthy(SPLIT, 'the simulator split a US listing two sessions after its base day');
  const split = await html(SPLIT);
  t.regex(split.text, /<g class="marker split"><title>split \d{4}-\d{2}-\d{2}/);
  const dividends = await rows<{ symbol: string; date: string }>(
    `SELECT symbol, date FROM corporate_actions WHERE kind = 'dividend' ORDER BY date, symbol`,
  );
  t.true(dividends.length >= 1, 'the calendars gave at least one dividend');
  for (const d of dividends.slice(0, 3)) {
    const page = await html(d.symbol);
    t.true(page.text.includes(`<g class="marker dividend"><title>dividend ${d.date}`), `${d.symbol} ${d.date}`);
  }
  const q = await html(QUARANTINED);
  t.regex(q.text, /<circle class="finding error open"[^>]*><title>2026-11-20: ohlc_order \(error, open\)/);
  const close = /<path class="close" d="([^"]*)"/.exec(q.text)?.[1] ?? '';
  t.is(count(close, /M/g), 2, 'the line stops at the quarantined bar and starts again after it');
  t.regex(q.text, /<rect class="vol quarantined"/);
  const w = await html(WARNED);
  t.regex(w.text, /<circle class="finding warning open"[^>]*><title>2026-11-20: volume_spike \(warning, open\)/);
});

test('JSON: the same data, bars oldest first with the indicators of their session, prices in the major unit (pence / 100)', async (t) => {
  const r = await json('AAPL.US');
  t.is(r.status, 200);
  const k = r.ticker;
  t.is(k.asset.exchange_name, 'US (NYSE, NASDAQ, ...) (US)');
  t.is(k.bars.length, Math.min(504, k.bars.length));
  t.deepEqual(
    k.bars.map((b) => b.date),
    [...k.bars.map((b) => b.date)].sort(),
  );
  const last = k.bars.at(-1)!;
  const h = (
    await rows<{ sma_200: number }>(
      `SELECT h.sma_200 FROM indicator_history h JOIN assets a ON a.id = h.asset_id WHERE a.symbol = 'AAPL.US' AND h.date = $1`,
      [last.date],
    )
  )[0]!;
  t.is(last.sma_200, h.sma_200);
  t.true(k.history.length > 0 && k.history.length <= 30);
  t.true(String(k.history[0]!.date) >= String(k.history.at(-1)!.date), 'history newest first');
  t.true(k.audit.length > 0);
  t.truthy(k.fundamentals?.fetched_at);
  t.true(k.versions.length >= 1);
  // A London listing quoted in pence: shown in pounds.
  const gbx = (
    await rows<{ symbol: string }>(
      `SELECT a.symbol FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
      WHERE s.prices_currency = 'GBX' AND EXISTS (SELECT 1 FROM technical_indicators t WHERE t.asset_id = a.id) ORDER BY a.symbol LIMIT 1`,
    )
  )[0]!.symbol;
  const l = (await json(gbx)).ticker;
  t.is(l.asset.currency, 'GBP');
  t.is(l.asset.quote_currency, 'GBX');
  const raw = (
    await rows<{ close: number; adjusted_close: number; sma_50: number | null }>(
      `SELECT p.close, p.adjusted_close, h.sma_50 FROM stock_prices p JOIN assets a ON a.id = p.asset_id
       LEFT JOIN indicator_history h ON h.asset_id = p.asset_id AND h.date = p.date
      WHERE a.symbol = $1 ORDER BY p.date DESC LIMIT 1`,
      [gbx],
    )
  )[0]!;
  const bar = l.bars.at(-1)!;
  t.is(bar.close, raw.close / 100);
  t.is(bar.adjusted_close, raw.adjusted_close / 100);
  t.is(bar.sma_50, raw.sma_50 === null ? null : raw.sma_50 / 100);
  t.is(
    l.latest?.current_price,
    (
      await rows<{ c: number }>(
        `SELECT t.current_price AS c FROM technical_indicators t JOIN assets a ON a.id = t.asset_id WHERE a.symbol = $1`,
        [gbx],
      )
    )[0]!.c / 100,
  );
  // The screener row's close is in pounds already: not divided again.
  t.is(
    (l.latest as Record<string, unknown> | null)?.close,
    (
      await rows<{ c: number }>(
        `SELECT t.close AS c FROM technical_indicators t JOIN assets a ON a.id = t.asset_id WHERE a.symbol = $1`,
        [gbx],
      )
    )[0]!.c,
  );
  t.true(String((await html(gbx)).text).includes('prices in GBP (quoted in GBX, shown in GBP)'));
  // The chart's length is asked for, within bounds.
  t.is((await json('AAPL.US', 20)).ticker.bars.length, 20);
  t.is((await json('aapl.us', 20)).status, 200, 'a symbol in any case');
});

test('a malformed symbol or length is a 400 with the reason; an unknown symbol a 404; nothing of either is echoed unescaped', async (t) => {
  for (const s of ['AAPL', 'AAPL.XX', '<script>.US', `${'A'.repeat(30)}.US`, '.US', 'AAPL.US.US', '', "A'B.US"]) {
    const r = await html(s);
    t.is(r.status, 400, s);
    t.regex(String((r.body as { reason: string }).reason), /CODE\.EXCHANGE/, s);
  }
  for (const n of [5, 19, 2521, 1.5]) t.is((await html('AAPL.US', n)).status, 400, String(n));
  const none = await html('NOPE.US');
  t.is(none.status, 404);
  t.regex(String((none.body as { reason: string }).reason), /no listing NOPE\.US/);
});

test('every value is escaped: a name with markup shows as text', async (t) => {
  const symbol = sim.symbols().filter((s) => s.endsWith('.US'))[9]!;
  await tdb.pool.query(`UPDATE assets SET name = $2 WHERE symbol = $1`, [
    symbol,
    `<script>alert("x")</script> & <b>Co</b>`,
  ]);
  const r = await html(symbol);
  t.is(r.status, 200);
  t.false(r.text.includes('<script>alert'));
  t.false(r.text.includes('<b>Co</b>'));
  t.true(r.text.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;'));
});
