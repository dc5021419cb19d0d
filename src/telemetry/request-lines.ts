// Whether anyone reads a proxy's per-request lines: the trace records (one JSON line a request,
// which the runner joins with ztunnel's records for the scenario's expectations, `trace --follow`
// and the live page) and the Envoy-style access log. A waypoint at 1,000 requests/s spent a tenth
// of its CPU building and writing lines nobody read, so a proxy writes each kind only while
// someone reads it, and a request made meanwhile costs nothing for it.
//
// Who reads is the runner's knowledge: it starts each proxy with HBONE_REQUEST_LINES and, when
// readers come and go, sends a RequestLinesMessage on the proxy's IPC channel. A proxy started by
// hand (no variable) writes both, as a real waypoint with Istio's demo profile writes its access log.
//
// HBONE_REQUEST_LINES: a comma-separated list of `trace` and `access-log`, or `none`.

export const ENV_REQUEST_LINES = 'HBONE_REQUEST_LINES';
export const REQUEST_LINES_MESSAGE = 'hbone-sim/request-lines';

export interface RequestLineReaders {
  /** Trace records (scope "trace"), one per request and proxy. */
  readonly trace: boolean;
  /** The Envoy-style access log, one line per request. */
  readonly accessLog: boolean;
}

export interface RequestLinesMessage extends RequestLineReaders {
  readonly kind: typeof REQUEST_LINES_MESSAGE;
}

const ALL: RequestLineReaders = { trace: true, accessLog: true };
const NONE = 'none';
const TRACE = 'trace';
const ACCESS_LOG = 'access-log';

/** The variable's value for a state (what the runner starts a proxy with). */
export function formatRequestLines(r: RequestLineReaders): string {
  const on = [...(r.trace ? [TRACE] : []), ...(r.accessLog ? [ACCESS_LOG] : [])];
  return on.length > 0 ? on.join(',') : NONE;
}

/** Reads the variable; unset or empty means both, and words it does not know are ignored. */
export function parseRequestLines(value: string | undefined): RequestLineReaders {
  if (value === undefined || value.trim() === '') return ALL;
  const words = value.split(',').map((w) => w.trim().toLowerCase());
  return { trace: words.includes(TRACE), accessLog: words.includes(ACCESS_LOG) };
}

export function isRequestLinesMessage(m: unknown): m is RequestLinesMessage {
  const msg = m as Partial<RequestLinesMessage> | null;
  return typeof msg === 'object' && msg !== null && msg.kind === REQUEST_LINES_MESSAGE && typeof msg.trace === 'boolean' && typeof msg.accessLog === 'boolean';
}

/** The switch a proxy's trace log and access log consult on every request. */
export class RequestLines {
  trace: boolean;
  accessLog: boolean;

  constructor(initial: RequestLineReaders = ALL) {
    this.trace = initial.trace;
    this.accessLog = initial.accessLog;
  }

  set(r: RequestLineReaders): void {
    this.trace = r.trace;
    this.accessLog = r.accessLog;
  }
}

let processLines: RequestLines | undefined;

/**
 * This process's switch: from HBONE_REQUEST_LINES and, when the runner set it, from the runner's
 * messages after that. The first call starts listening on the IPC channel (a proxy calls it before
 * it reports ready); a process started without the variable writes both and listens for nothing.
 */
export function processRequestLines(): RequestLines {
  if (!processLines) {
    const value = process.env[ENV_REQUEST_LINES];
    const lines = new RequestLines(parseRequestLines(value));
    processLines = lines;
    if (value !== undefined && process.send !== undefined) {
      process.on('message', (m: unknown) => {
        if (isRequestLinesMessage(m)) lines.set(m);
      });
    }
  }
  return processLines;
}
