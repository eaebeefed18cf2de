/** `node dist/shared/store/migrate-cli.js`: applies sql/ to DATABASE_URL (the cluster's migration Job). */
import { databaseUrl } from '../platform/config.js';
import { checkDatabase } from '../platform/database-problem.js';
import { closeDb, db } from '../platform/db.js';
import { errorText, log } from '../platform/log.js';
import { migrate } from './migrate.js';

try {
  await checkDatabase(db(), databaseUrl());
  const result = await migrate(db());
  log('info', 'migrated', { applied: result.applied, already_applied: result.alreadyApplied });
  await closeDb();
} catch (err) {
  log('error', 'migration_failed', { message: errorText(err) });
  await closeDb();
  process.exit(1);
}
