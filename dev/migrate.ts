/** `npm run migrate`: applies sql/ to DATABASE_URL. */
import { checkDatabase } from '../shared/platform/database-problem.js';
import { createPool } from '../shared/platform/db.js';
import { errorText } from '../shared/platform/log.js';
import { migrate } from '../shared/store/migrate.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error(
    'DATABASE_URL is not set: npm run migrate applies the schema to that database (npm start and the tests use an embedded one by themselves)',
  );
  process.exit(2);
}
const pool = createPool(url, 1);
try {
  await checkDatabase(pool, url);
  const r = await migrate(pool);
  console.log(
    r.applied.length ? `applied ${r.applied.join(', ')}` : `schema up to date (${r.alreadyApplied} migrations)`,
  );
} catch (err) {
  console.error(`npm run migrate: ${errorText(err)}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
