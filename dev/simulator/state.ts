// Persistence of the simulated clock and today's usage (SimulatorOptions.stateFile).
//
// Why: `npm start` run twice must behave like two runs against the real API on the same
// day: the second sees the calls the first spent, and the day only changes when someone
// advances it. So the clock and the day's counter live in a small JSON file.
//
// Writes are atomic (temp file + rename) so a reader never sees half a file; after each
// charged request the write is deferred by 50 ms and coalesced (a benchmark making
// thousands of requests must not write thousands of files); advancing the clock and
// closing the simulator write at once.

import fs from 'node:fs';
import path from 'node:path';
import { parseDate } from './dates.js';
import type { Usage } from './limits.js';

export interface PersistedState {
  version: 1;
  today: string;
  usage: Usage;
}

export class StateStore {
  private timer: NodeJS.Timeout | null = null;
  private latest: PersistedState | null = null;

  constructor(readonly file: string) {}

  load(): PersistedState | null {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return null;
    }
    try {
      const s = JSON.parse(text) as PersistedState;
      if (typeof s?.today !== 'string' || parseDate(s.today) === null) return null;
      const u = s.usage;
      const usageOk =
        u &&
        typeof u.date === 'string' &&
        typeof u.calls === 'number' &&
        typeof u.requests === 'number' &&
        u.byEndpoint &&
        typeof u.byEndpoint === 'object';
      return {
        version: 1,
        today: s.today,
        usage: usageOk ? u : { date: s.today, calls: 0, requests: 0, byEndpoint: {} },
      };
    } catch {
      return null;
    }
  }

  /** Deferred, coalesced write. */
  save(state: PersistedState): void {
    this.latest = state;
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), 50);
    this.timer.unref();
  }

  /** Write now (and cancel any deferred write). */
  saveNow(state: PersistedState): void {
    this.latest = state;
    this.flush();
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.latest) return;
    fs.mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.latest, null, 2) + '\n');
    fs.renameSync(tmp, this.file);
    this.latest = null;
  }
}
