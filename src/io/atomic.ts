// Files appear whole or not at all: write beside the target, then rename over it (atomic on POSIX
// within one file system), so a crash or a full disk never leaves a half-written file behind. The
// temporary file is named after the writer's process; one left by a process that was killed before
// it could remove it is removed by the next write of the same target.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const tempName = (file: string): string => `${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

/** Whether a process with this id exists (EPERM: it does, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Temporary files of `file` whose writers have exited: killed mid-write, they could not remove them. */
async function removeStaleTemps(file: string): Promise<void> {
  const pattern = new RegExp(`^${path.basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.tmp-(\\d+)-[0-9a-f]{8}$`);
  const names = await readdir(path.dirname(path.resolve(file))).catch(() => []);
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) await rm(path.join(path.dirname(path.resolve(file)), name), { force: true });
  }
}

export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  await mkdir(dir, { recursive: true });
  await removeStaleTemps(file);
  const temp = path.join(dir, tempName(file));
  try {
    await writeFile(temp, bytes);
    await rename(temp, file);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}
