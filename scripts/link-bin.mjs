// Links this package's own command into node_modules/.bin, as npm does for a dependency's, so that
// `npx alexnet` in a clone runs the build here at once. Without the link, npx installs the folder
// as a package into its cache first, building it again (half a minute).
import { chmodSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';

const bin = new URL('../node_modules/.bin/', import.meta.url);
mkdirSync(bin, { recursive: true });
chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
rmSync(new URL('alexnet', bin), { force: true });
symlinkSync('../../dist/cli/main.js', new URL('alexnet', bin));
