// `hbone-sim trace --follow [--pod P] [--json]`: every request through the held mesh, hop by
// hop, as the scenario run tells its expectations: a curl from `exec`, a client on a pod's
// SOCKS5 address, load through a port capture. Under load it samples and says so.
// `trace --mermaid` and `trace --svg FILE` wait for the next request and draw it (hop-diagram.ts).
import * as fs from 'node:fs';
import { Flags, UsageError, stringFlag } from './args';
import { diagramOf, isDrawable, toMermaid, toSvg, TracedRequest } from '../runner/hop-diagram';

/** More than any request's records in one --json line. */
const MAX_LINE = 1 << 20;
import type { Command } from './command';
import { ApiError, MESH_FLAG, meshAccess, streamApi } from './api-client';

export const traceCommand: Command = {
  name: 'trace',
  summary: 'follow every request through the running mesh, hop by hop (trace --follow), or draw the next one (--svg, --mermaid)',
  description: [
    "Tells each request through the running mesh as it happens, hop by hop, with the stage names of Envoy's",
    "and ztunnel's dumps: capture, the HBONE CONNECT, the waypoint's four stages, the destination ztunnel.",
    'A request is told once its source ztunnel logged it (when its connection closed). At most 20 a second;',
    'beyond that it samples and says how many it skipped. Ctrl-C stops it.',
    'With --mermaid (stdout) or --svg FILE instead: waits for the next request from a pod in the mesh or through the ingress',
    'gateway, and draws it as a sequence diagram: each process on the path, the CONNECTs with both identities, the stages, their times.',
  ].join('\n'),
  flags: {
    follow: { kind: 'boolean', help: 'keep following new requests' },
    mermaid: {
      kind: 'boolean',
      help: 'wait for the next request (from a pod in the mesh, or through the ingress gateway) and print it as a Mermaid sequence diagram',
    },
    svg: {
      kind: 'string',
      value: 'file',
      help: 'wait for the next request (from a pod in the mesh, or through the ingress gateway) and write it to FILE as an SVG sequence diagram',
    },
    pod: { kind: 'string', value: 'pod', help: 'only requests from this pod' },
    json: { kind: 'boolean', help: "one JSON object a request: every hop's raw record" },
    mesh: MESH_FLAG,
  },
  run: async ({ flags }) => {
    const svg = stringFlag(flags, 'svg');
    const picture = flags.mermaid === true || svg !== undefined;
    if (picture && flags.follow === true) throw new UsageError('--follow tells every request; --mermaid and --svg draw one: give one of them');
    if (picture && flags.json === true) throw new UsageError('--json is for --follow');
    if (picture) return drawNext(flags, svg);
    if (flags.follow !== true) throw new UsageError('trace needs --follow (every request, as it happens), --mermaid or --svg FILE (the next one, drawn)');
    const query = new URLSearchParams({
      ...(stringFlag(flags, 'pod') ? { pod: stringFlag(flags, 'pod')! } : {}),
      ...(flags.json === true ? { json: '1' } : {}),
    });
    return follow(flags, query, (chunk) => void process.stdout.write(chunk));
  },
};

/** The API server's /trace stream, until it ends, Ctrl-C, or `onData` stops it; 1 when the mesh refuses. */
async function follow(flags: Flags, query: URLSearchParams, onData: (chunk: string, stop: () => void) => void): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await streamApi(meshAccess(flags), `/trace?${query.toString()}`, (chunk) => onData(chunk, () => stop.abort()), stop.signal);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

/** The next request from a pod in the mesh (of --pod, if given), drawn: Mermaid on stdout, or SVG to a file. */
async function drawNext(flags: Flags, svgFile: string | undefined): Promise<number> {
  const query = new URLSearchParams({ ...(stringFlag(flags, 'pod') ? { pod: stringFlag(flags, 'pod')! } : {}), json: '1' });
  let drawn: TracedRequest | undefined;
  let pending = '';
  const code = await follow(flags, query, (chunk, stop) => {
    pending += chunk;
    let nl: number;
    while (!drawn && (nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      // The follower's header says it is in place: the next request will be drawn.
      if (line.startsWith('#')) process.stderr.write(`${line}\n`);
      const parsed = parseLine(line);
      if (parsed && isDrawable(parsed)) {
        drawn = parsed;
        stop();
      }
    }
    // A line never grows past what one request's records hold; a runaway one is dropped.
    if (pending.length > MAX_LINE) pending = '';
  });
  if (code !== 0) return code;
  if (!drawn) return 130;
  const diagram = diagramOf(drawn);
  if (svgFile === undefined) {
    process.stdout.write(toMermaid(diagram));
    return 0;
  }
  fs.writeFileSync(svgFile, toSvg(diagram));
  process.stdout.write(`${diagram.title}: written to ${svgFile}\n`);
  return 0;
}

/** The follower's first line is a comment (# following ...); each request is one JSON object. */
function parseLine(line: string): TracedRequest | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as TracedRequest;
  } catch {
    return undefined;
  }
}
