// Persistence of the simulated clock and today's usage (SimulatorOptions.stateFile).
//
// Why: `npm start` run twice must behave like two runs against the real API on the same
// day: the second sees the calls the first spent, and the day only changes when someone
// advances it. So the clock (day and time of day), the day's counter and what /user shows
// (the last active day, while it lags behind a day change) live in a small JSON file.
// Files written before the time of day or the display existed still load: the time comes
// from the options, and /user shows the current day.
//
// Writes are atomic (temp file + rename) so a reader never sees half a file; after each
// charged request the write is deferred by 50 ms and coalesced (a benchmark making
// thousands of requests must not write thousands of files); advancing the clock and
// closing the simulator write at once.

import fs from 'node:fs';
import path from 'node:path';
import { parseTimeOfDay } from './clock.js';
import { parseDate } from './dates.js';
import type { DayCount, Usage, UserDisplay } from './limits.js';

export interface PersistedState {
  version: 1;
  today: string;
  /** time of day, UTC, 'HH:MM:SS.mmm' (absent in older files) */
  time?: string;
  usage: Usage;
  /** what /user shows besides the current day (absent in older files) */
  userDisplay?: UserDisplay;
}

function isDayCount(v: unknown): v is DayCount {
  const d = v as DayCount;
  return !!d && typeof d === 'object' && parseDate(d.date) !== null && Number.isInteger(d.calls) && d.calls >= 0;
}

function displayOf(v: unknown): UserDisplay | undefined {
  const d = v as UserDisplay;
  if (!d || typeof d !== 'object' || typeof d.stale !== 'boolean') return undefined;
  if (d.lastActive !== null && !isDayCount(d.lastActive)) return undefined;
  return { lastActive: d.lastActive, stale: d.stale };
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
        time: typeof s.time === 'string' && parseTimeOfDay(s.time) !== null ? s.time : undefined,
        usage: usageOk ? u : { date: s.today, calls: 0, requests: 0, byEndpoint: {} },
        userDisplay: displayOf(s.userDisplay),
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
