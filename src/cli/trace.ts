// `hbone-sim trace --follow [--pod P] [--json]`: every request through the held mesh, hop by
// hop, as the scenario run tells its expectations: a curl from `exec`, a client on a pod's
// SOCKS5 address, load through a port capture. Under load it samples and says so.
import { UsageError, stringFlag } from './args';
import type { Command } from './command';
import { ApiError, MESH_FLAG, meshAccess, streamApi } from './api-client';

export const traceCommand: Command = {
  name: 'trace',
  summary: 'follow every request through the running mesh, hop by hop (trace --follow)',
  description: [
    "Tells each request through the running mesh as it happens, hop by hop, with the stage names of Envoy's",
    "and ztunnel's dumps: capture, the HBONE CONNECT, the waypoint's four stages, the destination ztunnel.",
    'A request is told once its source ztunnel logged it (when its connection closed). At most 20 a second;',
    'beyond that it samples and says how many it skipped. Ctrl-C stops it.',
  ].join('\n'),
  flags: {
    follow: { kind: 'boolean', help: 'keep following new requests (the only mode for now)' },
    pod: { kind: 'string', value: 'pod', help: 'only requests from this pod' },
    json: { kind: 'boolean', help: "one JSON object a request: every hop's raw record" },
    mesh: MESH_FLAG,
  },
  run: async ({ flags }) => {
    if (flags.follow !== true) throw new UsageError('trace needs --follow (pictures of a single trace, --svg, come later)');
    const query = new URLSearchParams({
      ...(stringFlag(flags, 'pod') ? { pod: stringFlag(flags, 'pod')! } : {}),
      ...(flags.json === true ? { json: '1' } : {}),
    });
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await streamApi(meshAccess(flags), `/trace?${query.toString()}`, (chunk) => process.stdout.write(chunk), stop.signal);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  },
};
