// The inbound connections this ztunnel has delivered and that are still open, so a policy change
// can be checked against them: as ztunnel does, a connection that the new policies deny is
// closed (its stream or socket reset, which reaches the client as a reset), and its access log line says
// which policy closed it. Only open connections are held: the set is bounded by them.
import type { Workload } from '../mesh/model';
import type { Decision, L4Connection } from '../policy/authz';

export interface OpenConnection {
  readonly pod: Workload;
  readonly connection: L4Connection;
  /** Resets it: an HBONE stream's RST_STREAM, a plaintext socket's TCP reset. */
  readonly reset: () => void;
  /** Set when a policy change closed it: the decision that did. */
  closedBy?: Decision;
}

export class OpenConnections {
  private readonly open = new Set<OpenConnection>();

  add(c: OpenConnection): void {
    this.open.add(c);
  }

  delete(c: OpenConnection): void {
    this.open.delete(c);
  }

  get size(): number {
    return this.open.size;
  }

  /** Checks every open connection again; closes and returns those now denied. */
  recheck(authorize: (pod: Workload, c: L4Connection) => Decision): OpenConnection[] {
    const closed: OpenConnection[] = [];
    for (const c of this.open) {
      const d = authorize(c.pod, c.connection);
      if (d.allowed) continue;
      c.closedBy = d;
      this.open.delete(c);
      closed.push(c);
      c.reset();
    }
    return closed;
  }
}
