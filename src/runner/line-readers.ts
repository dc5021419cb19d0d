// Who reads the proxies' per-request lines (telemetry/request-lines.ts): the runner knows. Trace
// records are read while the scenario's expectations run, while a `trace --follow` (or --svg,
// --mermaid) waits, and while a live page is open; the Envoy-style access log, which the runner
// prints only with --verbose, then. Each reader holds its part until it releases it; every
// proxy is told when the answer changes (on its IPC channel), and a proxy started or restarted
// later learns it from its environment.
import { ENV_REQUEST_LINES, formatRequestLines, REQUEST_LINES_MESSAGE, RequestLineReaders, RequestLinesMessage } from '../telemetry/request-lines';
import type { ChildHandle, Supervisor } from './supervisor';

/** The processes that write trace records and an access log: waypoints and ingress gateways. */
const PROXY_COMMANDS: readonly string[] = ['waypoint', 'gateway'];

export function isProxyChild(c: ChildHandle): boolean {
  return PROXY_COMMANDS.includes(c.spec.args[0]);
}

export class LineReaders {
  private trace = 0;
  private accessLog = 0;
  private told: RequestLineReaders = { trace: false, accessLog: false };

  constructor(private readonly supervisor: Pick<Supervisor, 'setEnv' | 'broadcast'>) {
    supervisor.setEnv(ENV_REQUEST_LINES, formatRequestLines(this.told));
  }

  /** What the proxies write now. */
  get state(): RequestLineReaders {
    return this.told;
  }

  /** Someone reads these lines until the returned function is called (once; later calls do nothing). */
  read(what: Partial<RequestLineReaders>): () => void {
    const step = (n: number) => {
      if (what.trace) this.trace += n;
      if (what.accessLog) this.accessLog += n;
      this.apply();
    };
    step(1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      step(-1);
    };
  }

  /**
   * Tells every proxy again: one (re)started just as the answer changed may have missed the
   * message (its environment had the answer before); the runner calls this when one is ready.
   */
  resend(): void {
    this.supervisor.broadcast({ kind: REQUEST_LINES_MESSAGE, ...this.told } satisfies RequestLinesMessage, isProxyChild);
  }

  private apply(): void {
    const now = { trace: this.trace > 0, accessLog: this.accessLog > 0 };
    if (now.trace === this.told.trace && now.accessLog === this.told.accessLog) return;
    this.told = now;
    this.supervisor.setEnv(ENV_REQUEST_LINES, formatRequestLines(now));
    this.resend();
  }
}
