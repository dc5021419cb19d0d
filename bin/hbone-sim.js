#!/usr/bin/env node
// `npx hbone-sim …`: runs the built command line. `npm ci` builds it (the prepare script), so it
// works right after a fresh clone; after editing src/, `npm run build` (or any npm run script) rebuilds.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write(`hbone-sim: ${path.relative(process.cwd(), main)} is not built yet: run npm run build (npm ci does it)\n`);
  process.exit(1);
}
require(main);
