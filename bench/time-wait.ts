// TCP connections in TIME_WAIT on this machine. Every simulated pod shares one kernel here, so
// the ports of all of them come from one ephemeral range (28,232 ports), and a connection that
// closed holds its port in TIME_WAIT for 60 s. The connections suite leaves some 28,000 of them;
// the scale suite then binds 10,000 more ports for its idle connections at each end, so it waits
// for what came before it to drain first (src/net/source-port.ts has the rest of the story).
import * as fs from 'node:fs';

/** The state column of /proc/net/tcp for TIME_WAIT (include/net/tcp_states.h). */
const TCP_TIME_WAIT = '06';
/** Below this many, the scale suite starts: room for its 2 x 10,000 ports and more. */
export const TIME_WAIT_QUIET = 15_000;
/** TIME_WAIT lasts 60 s on Linux; a little more and the wait gives up. */
const MAX_WAIT_MS = 70_000;
const POLL_MS = 1000;

export function timeWaitCount(files: readonly string[] = ['/proc/net/tcp', '/proc/net/tcp6']): number {
  let n = 0;
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6 here
    }
    for (const line of text.split('\n').slice(1)) if (line.trim().split(/\s+/)[3] === TCP_TIME_WAIT) n++;
  }
  return n;
}

/** Resolves once fewer than `quiet` connections are in TIME_WAIT (or after 70 s); returns the ms waited. */
export async function drainTimeWait(progress: (line: string) => void, quiet = TIME_WAIT_QUIET): Promise<number> {
  const t0 = Date.now();
  let n = timeWaitCount();
  if (n < quiet) return 0;
  progress(`waiting for ${n} connections in TIME_WAIT to drain below ${quiet}`);
  while (n >= quiet && Date.now() - t0 < MAX_WAIT_MS) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    n = timeWaitCount();
  }
  return Date.now() - t0;
}
