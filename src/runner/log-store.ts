// What `hbone-sim logs` reads: the last lines each child wrote to stderr (ztunnel's log shape:
// time, level, target, message, fields), kept in a ring per child, and followed as they come.
// A pod hosted by a node agent has its own lines there, under its target `app::<pod>`.
// Bounded: MAX_LINES per child, each cut at MAX_LINE_CHARS; followers are few and capped.

export const MAX_LINES = 1000;
const MAX_LINE_CHARS = 4096;
export const MAX_LOG_FOLLOWERS = 16;

interface Follower {
  readonly child: string;
  readonly target?: string;
  readonly sink: (line: string) => void;
}

export class LogStore {
  private readonly rings = new Map<string, string[]>();
  private readonly followers = new Set<Follower>();

  add(child: string, line: string): void {
    const kept = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
    let ring = this.rings.get(child);
    if (!ring) this.rings.set(child, (ring = []));
    ring.push(kept);
    if (ring.length > MAX_LINES) ring.shift();
    for (const f of this.followers) if (f.child === child && matches(kept, f.target)) f.sink(kept);
  }

  /** The last `tail` lines of a child (of one target within it, for a hosted pod). */
  lines(child: string, target?: string, tail = MAX_LINES): string[] {
    const all = (this.rings.get(child) ?? []).filter((l) => matches(l, target));
    return all.slice(Math.max(0, all.length - tail));
  }

  follow(child: string, target: string | undefined, sink: (line: string) => void): () => void {
    if (this.followers.size >= MAX_LOG_FOLLOWERS) throw new Error(`at most ${MAX_LOG_FOLLOWERS} logs -f at once`);
    const f = { child, target, sink };
    this.followers.add(f);
    return () => this.followers.delete(f);
  }
}

/** A log line's target is its third tab-separated column. */
function matches(line: string, target: string | undefined): boolean {
  return target === undefined || line.split('\t')[2] === target;
}
