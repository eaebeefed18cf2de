/**
 * What the kernel says of a process (Linux /proc): CPU seconds and peak resident memory.
 * The bench reads them for the function processes and for PostgreSQL, whose backends come
 * and go: a server's CPU is the postmaster's own, its reaped children's (cutime) and its
 * living children's.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticks = 0;
function clockTicks(): number {
  if (ticks === 0) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

interface Stat {
  ppid: number;
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

function stat(pid: number): Stat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may hold spaces: fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    ppid: Number(f[1]),
    utime: Number(f[11]),
    stime: Number(f[12]),
    cutime: Number(f[13]),
    cstime: Number(f[14]),
  };
}

/** CPU seconds of a process (its own, not its children's); null when it is gone. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (!pid) return null;
  const s = stat(pid);
  return s ? (s.utime + s.stime) / clockTicks() : null;
}

/** CPU seconds of a process and all its children, living or reaped (a PostgreSQL server). */
export function treeCpuSeconds(pid: number | null): number | null {
  if (!pid) return null;
  const root = stat(pid);
  if (!root) return null;
  let t = root.utime + root.stime + root.cutime + root.cstime;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s && s.ppid === pid) t += s.utime + s.stime;
  }
  return t / clockTicks();
}

/** Peak resident memory (VmHWM) in MiB; null when the process is gone. */
export function peakRssMiB(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** The postmaster of a local data folder (first line of postmaster.pid), or null. */
export function postmasterPid(dataDir: string): number | null {
  try {
    return Number(fs.readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]) || null;
  } catch {
    return null;
  }
}
