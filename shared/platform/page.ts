/**
 * What every server-rendered page of the functions shares (the status page, the screen
 * page, the ticker page): escaping, the nonce and the Content-Security-Policy that lets only
 * the page's own script run, and the operator field whose value the page's script sends as
 * the Authorization header of an action that writes (shared/platform/operator.ts checks it).
 */
import { randomBytes } from 'node:crypto';

/** Text and attribute values, escaped for HTML. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** Whether a request's Accept header prefers HTML (a browser) to JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  const a = (accept ?? '').toLowerCase();
  return a.includes('text/html') && !a.startsWith('application/json');
}

/** A fresh nonce for one answer's script. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The headers of a page: HTML, never cached, and a policy that runs only the script with
 * this answer's nonce, loads nothing from elsewhere, lets its fetch() calls go to the same
 * gateway, and (formAction 'self': the screen page's GET form) submits forms only to itself.
 */
export function pageHeaders(nonce: string, opts: { formAction?: 'self' | 'none' } = {}): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; form-action ${opts.formAction === 'self' ? "'self'" : "'none'"}; base-uri 'none'; frame-ancestors 'none'`,
  };
}

/**
 * The operator field: a password input kept in the page (never in a URL, a cookie or the
 * browser's storage), outside the forms that post, so that no form sends it by itself.
 */
export const OPERATOR_FIELD = `<form id="operator" method="dialog" class="operator"><label>Operator credential <input type="password" id="operator-credential" autocomplete="off" size="46" placeholder="operator token, or the gateway's admin password"></label> <small>Actions that write (reset, confirm, drop, start a run, re-run a step) send it as the Authorization header: the secret <code>screener-admin-token</code>, or the password of <code>faas-cli login</code>.</small></form>`;

/**
 * Script functions for a page with the operator field: the Authorization header from the
 * field, and how an answer is shown (a refusal's one line, else the status and the body).
 */
export const OPERATOR_SCRIPT = `
function operatorHeaders() {
  const v = (document.getElementById('operator-credential')?.value ?? '').trim();
  return v ? { authorization: 'Bearer ' + v } : {};
}
async function answerText(r) {
  const text = await r.text();
  if (r.ok) return r.status + ' ' + text;
  try { const j = JSON.parse(text); if (j && typeof j.reason === 'string') return r.status + ' ' + j.reason; } catch {}
  return r.status + ' ' + text;
}`;
