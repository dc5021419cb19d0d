// `hbone-sim x status`: istioctl's proxy-status (istioctl x … is where Istio keeps its newer
// views): every proxy connected to istiod, and per type whether it is SYNCED, NOT SENT or STALE,
// with the version it ACKed and the reason of its last NACK. `x ztunnel-config` is in
// proxy-config.ts with the other views of a proxy's configuration.
import type { SyncStatus } from '../istiod/ads-server';
import { stringify } from 'yaml';
import { Flags, stringFlag, UsageError } from './args';
import { DEFAULT_SCRAPE_INTERVAL, PrometheusConfig, scrapeIntervalProblem } from '../telemetry/prometheus-config';
import type { Command } from './command';
import { ApiError, MESH_FLAG, callApi, meshAccess } from './api-client';
import { table } from './get';
import { ztunnelConfig } from './proxy-config';
import { ZTUNNEL_VIEWS } from './config-views';

const TYPES = ['WDS', 'AUTHZ', 'RDS'];

export const xCommand: Command = {
  name: 'x',
  summary: "istioctl's views of the running mesh: x status (proxy-status), x ztunnel-config; x prometheus-config",
  description: [
    "x status: every ztunnel and waypoint connected to istiod, each xDS type's state (SYNCED, NOT SENT, STALE), the version it ACKed, and its last NACK.",
    `x ztunnel-config <${ZTUNNEL_VIEWS.join('|')}> --node <node>: that node's ztunnel's live configuration, as istioctl ztunnel-config shows it (-o json: its /config_dump).`,
    'x prometheus-config [--interval 15s]: a Prometheus scrape configuration (YAML) for every istiod, ztunnel, waypoint and ingress gateway',
    "of the mesh as it is now, with the job names of Istio's Prometheus (istiod, ztunnel, envoy-stats): prometheus --config.file=<it>.",
  ].join('\n'),
  operands: { usage: 'status | ztunnel-config <view> | prometheus-config', min: 1, max: 2 },
  flags: {
    interval: { kind: 'string', value: 'duration', help: 'x prometheus-config: the scrape interval (default 15s)' },
    node: { kind: 'string', value: 'node', help: "x ztunnel-config: which node's ztunnel" },
    output: { kind: 'string', short: 'o', value: 'json', help: 'x ztunnel-config: the dump as JSON instead of the table' },
    mesh: MESH_FLAG,
  },
  run: async ({ flags, operands }) => {
    if (operands[0] === 'ztunnel-config') return ztunnelConfig(flags, operands[1]);
    if (operands[0] === 'prometheus-config' && operands.length === 1) return prometheusConfigView(flags);
    if (operands[0] !== 'status' || operands.length > 1)
      throw new UsageError(`unknown view ${JSON.stringify(operands.join(' '))} (views: status, ztunnel-config, prometheus-config)`);
    let answer: { proxies: SyncStatus[] };
    try {
      answer = await callApi(meshAccess(flags), 'GET', '/status');
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    const rows = answer.proxies
      .map((p) => {
        // The newest version it ACKed of any type (istiod's versions end in /<push number>).
        const counter = (v: string) => Number(v.split('/').pop());
        const version =
          Object.values(p.types)
            .map((t) => t.acked)
            .filter((v): v is string => v !== undefined)
            .sort((a, b) => counter(b) - counter(a))[0] ?? '';
        return [p.proxy.split('~')[2] ?? p.proxy, p.proxyType, ...TYPES.map((t) => p.types[t]?.status ?? '-'), version];
      })
      .sort((a, b) => a[0].localeCompare(b[0]));
    process.stdout.write(table(['NAME', 'TYPE', ...TYPES, 'VERSION'], rows));
    for (const p of answer.proxies) {
      for (const [type, t] of Object.entries(p.types))
        if (t.nack) process.stdout.write(`${p.proxy.split('~')[2]} ${type} NACK of ${t.nackVersion}: ${t.nack}\n`);
    }
    return 0;
  },
};

/** `x prometheus-config`: the scrape configuration of the mesh as it is now, as YAML on stdout. */
async function prometheusConfigView(flags: Flags): Promise<number> {
  const interval = stringFlag(flags, 'interval') ?? DEFAULT_SCRAPE_INTERVAL;
  const bad = scrapeIntervalProblem(interval);
  if (bad) throw new UsageError(`--interval: ${bad}`);
  let answer: { mesh: string; config: PrometheusConfig };
  try {
    answer = await callApi(meshAccess(flags), 'GET', `/prometheus-config?${new URLSearchParams({ interval }).toString()}`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  const header = [
    `# Prometheus scrape configuration of mesh ${answer.mesh}, from hbone-sim x prometheus-config.`,
    '# A waypoint or gateway applied later is not in it: run this again and reload Prometheus (SIGHUP).',
  ].join('\n');
  process.stdout.write(`${header}\n${stringify(answer.config)}`);
  return 0;
}
