// The runner reads every ztunnel's access log (JSON lines on stdout) to show what really
// happened to a request: which ztunnel captured it, the CONNECT it sent, who answered.

export interface AccessRecord {
  readonly at: number; // when the runner read it (ms, performance.now())
  readonly reporter: string; // the child that wrote it, e.g. ztunnel-node-a
  readonly fields: Readonly<Record<string, unknown>>;
}

export class AccessRecords {
  private readonly records: AccessRecord[] = [];

  /** Takes one stdout line of a child; keeps it when it is an access-log record. */
  add(child: string, line: string): boolean {
    if (!line.startsWith('{')) return false;
    let fields: Record<string, unknown>;
    try {
      fields = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return false;
    }
    // ztunnel access-log lines, and the waypoint's per-request trace lines.
    // Other JSON lines (the waypoint's Envoy-style access log) are records too, not noise.
    if (fields.scope !== 'access' && fields.scope !== 'trace') return true;
    this.records.push({ at: performance.now(), reporter: child, fields });
    return true;
  }

  since(t: number): AccessRecord[] {
    return this.records.filter((r) => r.at >= t);
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
