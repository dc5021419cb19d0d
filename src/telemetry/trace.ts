// Trace records: one JSON line per request and process, naming each stage it went through with
// its timing, keyed by the W3C trace id that every hop carries in traceparent. The runner joins
// them with the ztunnels' access-log lines to show one request crossing the whole path. A proxy
// writes them only while someone reads them (request-lines.ts).
import { writeStdoutLine } from './stdout-lines';

export const TRACE_SCOPE = 'trace';

export interface TraceStage {
  /** The stage's name as Envoy or ztunnel calls it, e.g. inbound_CONNECT_terminate. */
  readonly name: string;
  /** Milliseconds since the request arrived at this process. */
  readonly atMs: number;
  readonly durationMs: number;
  /** What happened there, in the stage's own terms. */
  readonly detail: Readonly<Record<string, string | number | undefined>>;
}

export interface TraceRecord {
  readonly traceId: string;
  /** The process, e.g. waypoint-7d9f8c6b5-xk2lp. */
  readonly process: string;
  readonly stages: readonly TraceStage[];
  readonly status: number;
  readonly durationMs: number;
}

export type TraceSink = (line: string) => void;

export class TraceLog {
  constructor(
    private readonly sink: TraceSink = writeStdoutLine,
    /** Whether anyone reads the records now (request-lines.ts); a caller builds none when not. */
    readonly enabled: () => boolean = () => true,
  ) {}

  write(record: TraceRecord): void {
    this.sink(JSON.stringify({ scope: TRACE_SCOPE, time: new Date().toISOString(), ...record }));
  }
}

/** Collects a request's stages as it moves through one process. */
export class StageClock {
  private readonly started = performance.now();
  private last = this.started;
  readonly stages: TraceStage[] = [];

  /** Closes the current stage: its duration runs from the previous mark to now. */
  mark(name: string, detail: TraceStage['detail']): void {
    const now = performance.now();
    this.stages.push({ name, atMs: round(this.last - this.started), durationMs: round(now - this.last), detail });
    this.last = now;
  }

  get elapsedMs(): number {
    return round(performance.now() - this.started);
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
