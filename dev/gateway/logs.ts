/**
 * What `faas-cli logs NAME` reads: each function process's output lines, kept per
 * function (the last LINES_KEPT) with the instance that wrote them and when, queried by
 * since and tail, and followed as they come (the gateway's /system/logs NDJSON stream).
 */

export interface LogEntry {
  name: string;
  namespace: string;
  instance: string;
  timestamp: string;
  text: string;
}

const LINES_KEPT = 10_000;

export class LogStore {
  private readonly lines = new Map<string, LogEntry[]>();
  private readonly followers = new Map<string, Set<(e: LogEntry) => void>>();

  constructor(private readonly namespace: string) {}

  add(name: string, instance: string, text: string): void {
    const e: LogEntry = { name, namespace: this.namespace, instance, timestamp: new Date().toISOString(), text };
    let list = this.lines.get(name);
    if (!list) this.lines.set(name, (list = []));
    list.push(e);
    if (list.length > LINES_KEPT * 1.1) list.splice(0, list.length - LINES_KEPT);
    for (const f of this.followers.get(name) ?? []) f(e);
  }

  /** Lines at or after `since`, of `instance` when given, the last `tail` of them (tail <= 0: all). */
  query(name: string, o: { since?: Date | null; tail?: number; instance?: string | null }): LogEntry[] {
    let out = this.lines.get(name) ?? [];
    if (o.since) {
      const t = o.since.toISOString();
      out = out.filter((e) => e.timestamp >= t);
    }
    if (o.instance) out = out.filter((e) => e.instance === o.instance);
    if (o.tail !== undefined && o.tail > 0) out = out.slice(-o.tail);
    return out;
  }

  /** Calls `f` with every new line of the function until the returned function is called. */
  follow(name: string, f: (e: LogEntry) => void): () => void {
    let set = this.followers.get(name);
    if (!set) this.followers.set(name, (set = new Set()));
    set.add(f);
    return () => set!.delete(f);
  }
}
