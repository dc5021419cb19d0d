// The runner reads every ztunnel's access log and the waypoint's trace lines (JSON lines on
// stdout) to show what really happened to a request: which ztunnel captured it, the CONNECT it
// sent, who answered.
//
// Bounded: a held mesh under load writes thousands of lines a second, and the runner only ever
// explains recent requests. It keeps the last MAX_RECORDS lines as text, in a ring, and parses a
// line only when someone asks for records of its time.

export interface AccessRecord {
  readonly at: number; // when the runner read it (ms, performance.now())
  readonly reporter: string; // the child that wrote it, e.g. ztunnel-node-a
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Lines kept: minutes of a busy mesh's records at a few MB, well beyond what one explanation needs. */
export const MAX_RECORDS = 10_000;
/** JSON.stringify writes these exact bytes for ztunnel's access lines and the waypoint's trace lines. */
const KEPT_SCOPES = ['"scope":"access"', '"scope":"trace"'];

class KeptLine implements AccessRecord {
  private parsed?: Readonly<Record<string, unknown>>;
  constructor(
    readonly at: number,
    readonly reporter: string,
    private readonly line: string,
  ) {}

  get fields(): Readonly<Record<string, unknown>> {
    if (!this.parsed) {
      try {
        this.parsed = JSON.parse(this.line) as Record<string, unknown>;
      } catch {
        this.parsed = {};
      }
    }
    return this.parsed;
  }
}

export class AccessRecords {
  private readonly ring: Array<KeptLine | undefined>;
  /** Told of each record as it is kept (trace --follow); few, and removed when they leave. */
  private readonly listeners = new Set<(r: AccessRecord) => void>();
  /** Where the next line goes; the oldest kept line is there too once the ring is full. */
  private next = 0;
  private count = 0;

  constructor(private readonly capacity = MAX_RECORDS) {
    this.ring = new Array<KeptLine | undefined>(capacity);
  }

  /**
   * Takes one stdout line of a child; true when it is a JSON log line (access, trace, or the
   * waypoint's Envoy-style access log), which is not shown as plain output. Only access and
   * trace lines are kept.
   */
  add(child: string, line: string): boolean {
    if (!line.startsWith('{') || !line.endsWith('}')) return false;
    if (KEPT_SCOPES.some((s) => line.includes(s))) {
      const kept = new KeptLine(performance.now(), child, line);
      this.ring[this.next] = kept;
      this.next = (this.next + 1) % this.capacity;
      if (this.count < this.capacity) this.count++;
      for (const l of this.listeners) l(kept);
    }
    return true;
  }

  /** Calls `listener` with every record kept from now on; returns how to stop. */
  onRecord(listener: (r: AccessRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Lines kept now (at most the capacity). */
  get size(): number {
    return this.count;
  }

  /** The kept records read at or after t, oldest first. */
  since(t: number): AccessRecord[] {
    const out: AccessRecord[] = [];
    // Newest first, stopping at the first older one (lines arrive in time order), then reversed.
    for (let i = 1; i <= this.count; i++) {
      const r = this.ring[(this.next - i + this.capacity) % this.capacity]!;
      if (r.at < t) break;
      out.push(r);
    }
    return out.reverse();
  }

  /** Waits until `predicate` holds for the records since t, or the timeout passes. */
  async waitFor(t: number, predicate: (records: AccessRecord[]) => boolean, timeoutMs: number): Promise<AccessRecord[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.since(t);
      if (predicate(found) || performance.now() > deadline) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export function isTrace(r: AccessRecord): boolean {
  return r.fields.scope === 'trace';
}

export function field(r: AccessRecord | undefined, name: string): string {
  const v = r?.fields[name];
  return v === undefined || v === null ? '' : String(v);
}
