// Finding a peer's program: by absolute path (an override such as NGHTTPX=), or by name on $PATH
// and then in /usr/bin and /usr/sbin, where Debian puts daemons (nghttpx, haproxy) that are not
// always on a user's PATH.
import * as fs from 'node:fs';
import * as path from 'node:path';

const DEBIAN_DIRS = ['/usr/bin', '/usr/sbin'];

/** An executable regular file at this path. */
export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The executable `nameOrPath` names, or undefined when there is none. */
export function findExecutable(nameOrPath: string): string | undefined {
  if (path.isAbsolute(nameOrPath)) return isExecutable(nameOrPath) ? nameOrPath : undefined;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...DEBIAN_DIRS];
  return dirs.map((d) => path.join(d, nameOrPath)).find(isExecutable);
}
