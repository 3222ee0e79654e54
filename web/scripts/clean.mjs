// Empties internal/console/dist before a build, keeping its .gitkeep (the
// Go embed needs a file there even when the console is not built).
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const dist = new URL('../../internal/console/dist/', import.meta.url).pathname;
for (const name of readdirSync(dist)) {
  if (name !== '.gitkeep') rmSync(join(dist, name), { recursive: true, force: true });
}
