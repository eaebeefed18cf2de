/**
 * An operator's decision on a quarantined bar (the status page's buttons, or curl on the
 * status function): 'confirm' (the bar is real, a genuine crash: it is used again and its
 * findings stay confirmed) or 'drop' (the bar is wrong: it is deleted, every finding of it
 * resolved, and a re-read does not bring it back). Either way the asset's indicators are
 * computed again.
 */
import { inTransaction } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import { log } from '../platform/log.js';
import { markIndicatorsStale } from '../store/asset-state.js';
import { dropBar, queueHistory } from '../store/prices.js';
import { decideFinding } from '../store/quality-findings.js';
import { assetIdOf } from '../store/series-context.js';
import type { PipelineContext } from './context.js';

export async function decideQuarantinedBar(
  ctx: PipelineContext,
  d: { action: 'confirm' | 'drop'; symbol: string; date: string; check?: string; note?: string },
): Promise<FunctionResult> {
  const assetId = await assetIdOf(ctx.pool, d.symbol);
  if (assetId === null)
    return {
      status: 404,
      body: { error: 'not_found', reason: `no asset with symbol ${d.symbol}: check the symbol (CODE.EXCHANGE)` },
    };
  const note = d.note ?? (d.action === 'confirm' ? 'confirmed by an operator' : 'dropped by an operator');
  const r = await inTransaction(ctx.pool, async (c) => {
    const decided = await decideFinding(c, assetId, d.date, d.action, note, d.check ?? null);
    if (decided.length === 0) return null;
    const dropped = d.action === 'drop' ? await dropBar(c, assetId, d.date) : false;
    await markIndicatorsStale(c, [assetId]);
    // A confirmed bar is used again: the history from its day (a dropped one queued itself).
    await queueHistory(c, [{ assetId, fromDate: d.date }]);
    return { decided, dropped };
  });
  if (!r)
    return {
      status: 404,
      body: {
        error: 'no_finding',
        reason: `${d.symbol} has no open or confirmed finding${d.check ? ` of ${d.check}` : ''} on ${d.date}: see v_data_quality or the status page`,
      },
    };
  log('info', 'finding_decided', { symbol: d.symbol, date: d.date, action: d.action, checks: r.decided.length });
  return {
    status: 200,
    body: {
      [d.action === 'confirm' ? 'confirmed' : 'dropped']: {
        symbol: d.symbol,
        date: d.date,
        checks: r.decided.map((x) => x.check_name),
        barDeleted: r.dropped,
      },
    },
  };
}
