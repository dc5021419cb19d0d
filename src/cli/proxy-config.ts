// `hbone-sim proxy-config listeners|clusters|routes <waypoint>` (istioctl proxy-config) and the
// ztunnel views of `x ztunnel-config`: a proxy's live configuration as tables; -o json prints
// the same JSON as its admin endpoint.
import { UsageError, stringFlag } from './args';
import type { Command } from './command';
import { ApiError, MESH_FLAG, callApi, meshAccess } from './api-client';
import { ENVOY_VIEWS, ZTUNNEL_VIEWS, envoyView, ztunnelView } from './config-views';
import { table } from './get';
import type { Flags } from './args';

interface DumpAnswer {
  readonly proxy: string;
  readonly kind: 'ztunnel' | 'waypoint';
  readonly dump: unknown;
}

export async function fetchDump(flags: Flags, proxy: string): Promise<DumpAnswer | number> {
  try {
    return await callApi<DumpAnswer>(meshAccess(flags), 'GET', `/config_dump?${new URLSearchParams({ proxy }).toString()}`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
}

export function printView(flags: Flags, answer: DumpAnswer, view: { columns: readonly string[]; rows: readonly (readonly string[])[] }): number {
  const output = stringFlag(flags, 'output');
  if (output === 'json') process.stdout.write(JSON.stringify(answer.dump, null, 2) + '\n');
  else if (output !== undefined) throw new UsageError(`-o ${output}: use json, or no -o for the table`);
  else process.stdout.write(table(view.columns, view.rows));
  return 0;
}

export const proxyConfigCommand: Command = {
  name: 'proxy-config',
  summary: "a waypoint's or ingress gateway's live Envoy configuration as tables (istioctl proxy-config listeners|clusters|routes)",
  description: `Reads a waypoint's /config_dump through the API server and prints its ${ENVOY_VIEWS.join(', ')} as istioctl does; -o json prints the dump.`,
  operands: { usage: `<${ENVOY_VIEWS.join('|')}> <waypoint pod|deploy/NAME>`, min: 2, max: 2 },
  flags: {
    output: { kind: 'string', short: 'o', value: 'json', help: 'the dump as JSON instead of the table' },
    mesh: MESH_FLAG,
  },
  run: async ({ flags, operands }) => {
    const view = operands[0] as (typeof ENVOY_VIEWS)[number];
    if (!ENVOY_VIEWS.includes(view)) throw new UsageError(`unknown view ${JSON.stringify(operands[0])} (views: ${ENVOY_VIEWS.join(', ')})`);
    const answer = await fetchDump(flags, operands[1]);
    if (typeof answer === 'number') return answer;
    if (answer.kind !== 'waypoint') throw new UsageError(`${answer.proxy} is a ztunnel: use hbone-sim x ztunnel-config`);
    return printView(flags, answer, envoyView(view, answer.dump));
  },
};

/** `x ztunnel-config <view> [--node N]`: one node's ztunnel (the first node's by default). */
export async function ztunnelConfig(flags: Flags, viewName: string | undefined): Promise<number> {
  const view = viewName as (typeof ZTUNNEL_VIEWS)[number];
  if (!ZTUNNEL_VIEWS.includes(view)) throw new UsageError(`x ztunnel-config needs a view: ${ZTUNNEL_VIEWS.join(', ')}`);
  const node = stringFlag(flags, 'node');
  if (!node) throw new UsageError('x ztunnel-config needs --node <node>: which ztunnel');
  const answer = await fetchDump(flags, `ztunnel-${node}`);
  if (typeof answer === 'number') return answer;
  return printView(flags, answer, ztunnelView(view, answer.dump));
}
