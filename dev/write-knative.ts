/** `npm run knative`: writes k8s/knative/ from stack.yml (dev/knative.ts). */
import fs from 'node:fs';
import path from 'node:path';
import { knativeFiles } from './knative.js';

const dir = path.resolve('k8s', 'knative');
fs.mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(knativeFiles())) {
  fs.writeFileSync(path.join(dir, name), text);
  console.log(`${path.join(dir, name)}: ${text.split('\n').length} lines`);
}
