/**
 * The pipeline's log lines stay quiet in tests: they are kept in memory and shown with a
 * test that fails (its last lines), instead of filling the output of every run.
 * Imported (for its effect) by the helpers every database test uses.
 */
import test from 'ava';
import { setLogSink } from '../../shared/platform/log.js';

const KEPT = 3000;
const lines: string[] = [];
const listeners = new Set<(line: string) => void>();

/** Calls f with every log line from now on (a test that checks what is logged); returns the stop. */
export function onLogLine(f: (line: string) => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

setLogSink((line) => {
  for (const f of listeners) f(line);
  lines.push(line);
  if (lines.length > KEPT * 1.2) lines.splice(0, lines.length - KEPT);
});

test.afterEach.always((t) => {
  if (!t.passed && lines.length > 0) t.log(`last log lines:\n${lines.slice(-80).join('\n')}`);
});
