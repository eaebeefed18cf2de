/**
 * One local stack per data folder: a second `npm start` (or `npm run serve`) on the same
 * folder would start a second PostgreSQL on the same files. The folder holds the pid of the
 * process that uses it; a pid that no longer runs is a lock left by a kill, taken over.
 */
import fs from 'node:fs';
import path from 'node:path';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the folder or throws a one-line error naming the process that has it; returns the release. */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'running.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      const release = () => {
        process.off('exit', release);
        try {
          if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file);
        } catch {
          /* already gone */
        }
      };
      process.on('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && running(pid))
        throw new Error(
          `already running, pid ${pid}, on ${dataDir}: wait for it to finish, stop it (kill ${pid}), or give this one another --data-dir`,
        );
      fs.rmSync(file, { force: true }); // left by a process that was killed
    }
  }
  throw new Error(`cannot take ${file}: remove it if no npm start or npm run serve is running`);
}
