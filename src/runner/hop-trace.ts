// A request hop by hop, from what the proxies logged about it: the source ztunnel's access
// record, the waypoint's trace (its four stages) and the destination ztunnel's record, joined by
// trace id (or, from outside the mesh, the ingress gateway's trace and the destination's record), and told as lines with the names a learner reads in Envoy's and ztunnel's dumps.
// The scenario runner's expectations and `trace --follow` both tell requests this way.
import type { Scenario, Workload } from '../mesh/model';
import { PORT_SOCKS5 } from '../mesh/ports';
import { isIP } from 'node:net';
import { STAGE_ORIGINATE, UPSTREAM_REUSED } from '../waypoint/envoy-names';
import { STAGE_CONNECT_ORIGINATE } from '../gateway/envoy-names';
import { GATEWAY_APP } from '../mesh/app-kinds';
import { baggageOf } from '../hbone/headers';
import { AccessRecord, field, isTrace } from './access-records';

/** The records of one request: the source ztunnel's, the waypoint's (if any), the destination's. */
export interface RequestTrace {
  readonly traceId?: string;
  readonly outbound?: AccessRecord;
  readonly waypoint?: AccessRecord;
  readonly inbound?: AccessRecord;
  /** Set when the waypoint sent the request on an upstream connection it already had open: that CONNECT's trace id. */
  readonly tunnelTrace?: string;
}

/** The host and port a request was sent to, from a URL or host:port. */
export function targetOf(to: string): { host: string; port: number } {
  if (/^https?:\/\//.test(to)) {
    const u = new URL(to);
    return { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
  }
  const i = to.lastIndexOf(':');
  return { host: to.slice(0, i), port: Number(to.slice(i + 1)) };
}

/**
 * Whether a source ztunnel record is of this request: the same pod may have other connections
 * in flight (to other services), so the destination must match too.
 */
function isOfTarget(r: AccessRecord, target: { host: string; port: number }): boolean {
  const { host, port } = target;
  if (isIP(host)) return field(r, 'dst.hbone_addr').startsWith(`${host}:`) || field(r, 'dst.addr') === `${host}:${port}`;
  const service = field(r, 'dst.service');
  return service === host || service.startsWith(`${host}.`) || (!service && field(r, 'dst.addr').startsWith(`${host}:`));
}

export function traceOf(scenario: Scenario, records: AccessRecord[], pod: Workload, target: { host: string; port: number }): RequestTrace {
  const outbound = records.find((r) => !isTrace(r) && field(r, 'direction') === 'outbound' && field(r, 'src.workload') === pod.name && isOfTarget(r, target));
  return outbound ? traceFromOutbound(scenario, records, outbound) : {};
}

/** The rest of a request's records, from its source ztunnel's record (which names the trace). */
export function traceFromOutbound(scenario: Scenario, records: AccessRecord[], outbound: AccessRecord): RequestTrace {
  const traceId = field(outbound, 'trace_id') || undefined;
  if (!traceId) return { outbound };
  const sameTrace = records.filter((r) => field(r, isTrace(r) ? 'traceId' : 'trace_id') === traceId);
  const viaWaypoint = scenario.workloads.some((w) => w.name === field(outbound, 'dst.workload') && w.app.kind === 'waypoint');
  // Downstream calls (productpage -> reviews) carry the same trace: pick the hop of this request.
  const waypoint = viaWaypoint ? sameTrace.find((r) => isTrace(r) && stageDetail(r, 0, 'authority') === field(outbound, 'dst.hbone_addr')) : undefined;
  return { outbound, ...beyondWaypoint(records, sameTrace, traceId, waypoint, field(outbound, 'dst.hbone_addr')) };
}

/**
 * A request seen by a waypoint whose client's connection is still open (no source record yet):
 * the waypoint's trace and, past it, the destination's record.
 */
export function traceFromWaypoint(records: AccessRecord[], waypoint: AccessRecord): RequestTrace {
  const traceId = String(waypoint.fields.traceId ?? '');
  const sameTrace = records.filter((r) => !isTrace(r) && field(r, 'trace_id') === traceId);
  return beyondWaypoint(records, sameTrace, traceId, waypoint, '');
}

/** The destination's record of a request, past the waypoint if it went through one. */
function beyondWaypoint(records: AccessRecord[], sameTrace: AccessRecord[], traceId: string, waypoint: AccessRecord | undefined, direct: string): RequestTrace {
  const expectedAuthority = waypoint ? originateDetail(waypoint, 'authority') : direct;
  // On a reused upstream connection the CONNECT (and ztunnel's record of it) carries the trace of
  // the request that opened it; ztunnel writes that record when the connection closes.
  const tunnelTrace = waypoint ? reusedTunnelTrace(waypoint) : undefined;
  const inboundPool = tunnelTrace !== undefined ? records.filter((r) => field(r, 'trace_id') === tunnelTrace) : sameTrace;
  const inbound = inboundPool.find((r) => !isTrace(r) && field(r, 'direction') === 'inbound' && field(r, 'dst.hbone_addr') === expectedAuthority);
  return { traceId, waypoint, inbound, tunnelTrace };
}

export function complete(scenario: Scenario, records: AccessRecord[], pod: Workload, target: { host: string; port: number }): boolean {
  const t = traceOf(scenario, records, pod, target);
  if (!t.outbound) return false;
  if (field(t.outbound, 'error')) return true; // refused at the source or by the next hop
  const viaWaypoint = scenario.workloads.some((w) => w.name === field(t.outbound, 'dst.workload') && w.app.kind === 'waypoint');
  if (viaWaypoint && !t.waypoint) return false;
  // Ended in the waypoint: refused before stage 4 (403, no route), or stage 4 failed.
  if (t.waypoint && (!originateDetail(t.waypoint, 'authority') || originateDetail(t.waypoint, 'error'))) return true;
  // The waypoint keeps its upstream connection open for the next request (as Envoy does), and
  // ztunnel logs a connection when it closes: the destination's record may come much later.
  if (t.waypoint) return true;
  return !field(t.outbound, 'dst.hbone_addr') || t.inbound !== undefined;
}

/** The trace id of the CONNECT a reused upstream connection was opened with, else undefined. */
function reusedTunnelTrace(waypoint: AccessRecord): string | undefined {
  return originateDetail(waypoint, 'upstream') === UPSTREAM_REUSED ? originateDetail(waypoint, 'tunnel_trace') : undefined;
}

/** The last originate stage: with retries, the waypoint runs stages 3 and 4 again. */
export function originateDetail(r: AccessRecord, key: string): string {
  const stages = r.fields.stages as Array<{ name: string; detail: Record<string, unknown> }> | undefined;
  const last = stages?.filter((s) => s.name === STAGE_ORIGINATE || s.name === STAGE_CONNECT_ORIGINATE).pop();
  const v = last?.detail[key];
  return v === undefined ? '' : String(v);
}

export function stageDetail(r: AccessRecord, i: number, key: string): string {
  const stages = r.fields.stages as Array<{ detail: Record<string, unknown> }> | undefined;
  const v = stages?.[i]?.detail[key];
  return v === undefined ? '' : String(v);
}

export function hopsOf(scenario: Scenario, pod: Workload, t: RequestTrace): string[] {
  const { outbound: out, waypoint: wp, inbound: inb } = t;
  const hops: string[] = [];
  hops.push(`${pod.name} (${field(out, 'src.addr') || pod.ip}) → capture ${pod.ip}:${PORT_SOCKS5} on ${out?.reporter ?? `ztunnel-${pod.node}`}`);
  if (!out && !wp) return [...hops, '(no access log from the source ztunnel)'];
  if (!out && wp) {
    // Seen by the waypoint while the client's connection is still open (a pool keeps it).
    hops.push(
      `ztunnel-${pod.node} ⇒ HBONE CONNECT :authority ${stageDetail(wp, 0, 'authority')} to ${stageDetail(wp, 0, 'listener')}${t.traceId ? `  trace ${t.traceId}` : ''}: the connection is still open (ztunnel logs a connection when it closes)`,
    );
    hops.push(`    mTLS ${stageDetail(wp, 0, 'peer')} → ${stageDetail(wp, 0, 'identity')}`);
  } else if (out && !field(out, 'dst.hbone_addr')) {
    const dst = field(out, 'dst.workload');
    hops.push(
      dst
        ? `${out.reporter} sends plain TCP to ${dst} ${field(out, 'dst.addr')}: that pod is not in the mesh (istio.io/dataplane-mode), no mTLS${errorNote(out)}`
        : `${out.reporter} passes ${field(out, 'dst.addr')} through as plain TCP (outside the mesh)${errorNote(out)}`,
    );
    return hops;
  }
  // ztunnel's log: dst.addr is the HBONE side (pod:15008), dst.hbone_addr the :authority.
  if (out)
    hops.push(
      `${out.reporter} ⇒ HBONE CONNECT :authority ${field(out, 'dst.hbone_addr')} to ${field(out, 'dst.addr')}  [${field(out, 'duration')} in ztunnel]${t.traceId ? `  trace ${t.traceId}` : ''}`,
    );
  if (out) {
    hops.push(
      `    mTLS ${field(out, 'src.identity')} → ${field(out, 'dst.identity')}${field(out, 'dst.service') ? `  (service ${field(out, 'dst.service')})` : ''}`,
    );
    hops.push(`    headers: ${connectHeaderSummary(pod, out, t.traceId, !!wp)}`);
  }
  if (wp) {
    const wpPod = scenario.workloads.find((w) => w.name === wp.reporter);
    hops.push(`${wp.reporter}${wpPod ? ` on ${wpPod.node}` : ''}  [${Number(wp.fields.durationMs).toFixed(1)} ms in the waypoint]`);
    const stages = wp.fields.stages as Array<{ name: string; durationMs: number; detail: Record<string, string | number> }>;
    stages.forEach((s, i) => hops.push(`  ${i + 1} ${s.name}  ${describeStage(i, s.detail)}  (${s.durationMs.toFixed(1)} ms)`));
  }
  const dstPod = scenario.workloads.find((w) => w.name === field(inb, 'dst.workload'));
  if (inb) {
    const where = `${inb.reporter} inbound${dstPod ? ` on ${dstPod.node}` : ''}`;
    if (field(inb, 'error')) hops.push(`${where}: refused ${field(inb, 'error')}`);
    else
      hops.push(
        `${where}: peer ${field(inb, 'src.identity')}, ${field(inb, 'policy') ? `allowed by ${field(inb, 'policy')}` : 'no L4 policy applies'} → ${field(inb, 'dst.workload')} ${field(inb, 'dst.hbone_addr')}  [${field(inb, 'duration')}]`,
      );
  } else if (wp && originateDetail(wp, 'status')) {
    const authority = originateDetail(wp, 'authority');
    const pod = scenario.workloads.find((w) => authority.startsWith(`${w.ip}:`));
    const how = t.tunnelTrace !== undefined ? `reused an upstream connection opened under trace ${t.tunnelTrace}` : 'opened a new upstream connection';
    hops.push(
      `${pod ? `ztunnel-${pod.node}` : 'the destination ztunnel'} inbound → ${pod?.name ?? authority}: the waypoint ${how} and keeps it open for the next request, as Envoy does; ztunnel logs a connection when it closes`,
    );
  } else if (!wp || (wp.fields.stages as unknown[]).length >= 4) {
    hops.push(`(no inbound record${errorNote(out)})`);
  }
  return hops;
}

/** An ingress gateway's record of a request: its stages, from a client outside the mesh. */
export function isGatewayTrace(scenario: Scenario, r: AccessRecord): boolean {
  return isTrace(r) && scenario.workloads.some((w) => w.name === r.reporter && w.app.kind === GATEWAY_APP);
}

/** A request through the ingress gateway: its four stages, then the destination ztunnel's record of the CONNECT. */
export function gatewayHops(scenario: Scenario, gw: AccessRecord, records: readonly AccessRecord[]): string[] {
  const gwPod = scenario.workloads.find((w) => w.name === gw.reporter);
  const stages = (gw.fields.stages ?? []) as Array<{ name: string; durationMs: number; detail: Record<string, string | number> }>;
  const accept = stages[0]?.detail ?? {};
  const hops = [
    `${accept.client ?? 'a client'} → ${gw.reporter}${gwPod ? ` on ${gwPod.node}` : ''} listener ${accept.listener ?? ''}: plain HTTP from outside the mesh, no peer identity  [${Number(gw.fields.durationMs).toFixed(1)} ms in the gateway]`,
  ];
  stages.forEach((st, i) => hops.push(`  ${i + 1} ${st.name}  ${describeGatewayStage(i, st.detail)}  (${st.durationMs.toFixed(1)} ms)`));
  const authority = originateDetail(gw, 'authority');
  if (!authority || originateDetail(gw, 'plaintext')) return hops;
  const { inbound: inb, pod } = gatewayInbound(scenario, gw, records);
  if (inb && field(inb, 'error')) hops.push(`${inb.reporter} inbound: refused ${field(inb, 'error')}`);
  else if (inb)
    hops.push(
      `${inb.reporter} inbound: peer ${field(inb, 'src.identity')}, ${field(inb, 'policy') ? `allowed by ${field(inb, 'policy')}` : 'no L4 policy applies'} → ${field(inb, 'dst.workload')} ${authority}  [${field(inb, 'duration')}]`,
    );
  else
    hops.push(
      `${pod ? `ztunnel-${pod.node}` : 'the destination ztunnel'} inbound → ${pod?.name ?? authority}: the gateway keeps its upstream connection open for the next request, as Envoy does; ztunnel logs a connection when it closes`,
    );
  return hops;
}

/** The destination ztunnel's record of a gateway's CONNECT (once the connection closed), and the pod it went to. */
export function gatewayInbound(scenario: Scenario, gw: AccessRecord, records: readonly AccessRecord[]): { inbound?: AccessRecord; pod?: Workload } {
  const authority = originateDetail(gw, 'authority');
  if (!authority) return {};
  const tunnelTrace = reusedTunnelTrace(gw) ?? String(gw.fields.traceId ?? '');
  const inbound = records.find(
    (r) => !isTrace(r) && field(r, 'trace_id') === tunnelTrace && field(r, 'direction') === 'inbound' && field(r, 'dst.hbone_addr') === authority,
  );
  return { inbound, pod: scenario.workloads.find((w) => authority.startsWith(`${w.ip}:`)) };
}

function describeGatewayStage(i: number, d: Record<string, string | number>): string {
  switch (i) {
    case 0:
      return `accepted from ${d.client}; ${d.tls}`;
    case 1:
      return `${d.request} → route ${d.route}${d.backend ? `, backend ${d.backend}` : ''}${d.status ? `: ${d.status} ${d.reason ?? ''}` : ''}`;
    case 2:
      return `RBAC ${d.rbac} (${d.policy === 'none' ? d.reason : d.policy}); endpoint ${d.endpoint}`;
    default:
      return describeStage(i, d);
  }
}

/** A plaintext inbound record (no peer identity): a connection from a client outside the mesh. */
export function isPlaintextInbound(r: AccessRecord): boolean {
  return !isTrace(r) && field(r, 'direction') === 'inbound' && !field(r, 'src.identity') && !field(r, 'dst.hbone_addr');
}

/** A connection from outside the mesh, as the destination's ztunnel saw it on :15006. */
export function plaintextInboundHops(scenario: Scenario, inb: AccessRecord): string[] {
  const src = field(inb, 'src.workload');
  const srcPod = scenario.workloads.find((w) => w.name === src);
  const dstPod = scenario.workloads.find((w) => w.name === field(inb, 'dst.workload'));
  const where = `${inb.reporter} inbound plaintext ${dstPod ? `${dstPod.ip}:15006` : ':15006'}`;
  const hops = [
    `${src ? `${src} (${field(inb, 'src.addr')}), not in the mesh` : `${field(inb, 'src.addr')}, outside the cluster's pods`}: no ztunnel captures it; plain TCP${srcPod ? ` from ${srcPod.node}` : ''} to ${field(inb, 'dst.addr')}`,
    `    redirected to ${where}: no mTLS, no peer identity (connection_security_policy "unknown")`,
  ];
  if (field(inb, 'error')) hops.push(`${where}: refused ${field(inb, 'error')}`);
  else
    hops.push(
      `${where}: ${field(inb, 'policy') ? `allowed by ${field(inb, 'policy')}` : 'no L4 policy applies'} → ${field(inb, 'dst.workload')} ${field(inb, 'dst.addr')}  [${field(inb, 'duration')}]`,
    );
  return hops;
}

/** The headers ztunnel put on its CONNECT, from the same facts it built them from. */
function connectHeaderSummary(pod: Workload, out: AccessRecord, traceId: string | undefined, viaWaypoint: boolean): string {
  const baggage = baggageOf({ namespace: pod.namespace, workloadName: pod.workloadName, app: pod.labels.app, version: pod.labels.version });
  const parts = [`baggage ${baggage}`, `forwarded for="${field(out, 'src.addr')}"`];
  if (traceId) parts.push(`traceparent 00-${traceId}-…-01`);
  if (!viaWaypoint) parts.push(`x-envoy-original-dst-host ${field(out, 'dst.hbone_addr')}`);
  return parts.join('; ');
}

function describeStage(i: number, d: Record<string, string | number>): string {
  switch (i) {
    case 0:
      return `:authority ${d.authority} → ${d.service ?? d.workload}; peer ${d.peer}`;
    case 1:
      return `${d.request} → route ${d.route}${d.backend ? `, backend ${d.backend}` : ''}${d.status ? `: ${d.status} ${d.reason ?? ''}` : ''}`;
    case 2:
      return `RBAC ${d.rbac} (${d.policy === 'none' ? d.reason : d.policy}); endpoint ${d.endpoint}`;
    default:
      if (d.plaintext)
        return `${d.upstream === UPSTREAM_REUSED ? 'reused upstream connection, ' : ''}plain HTTP to ${d.authority}: ${d.plaintext}, no CONNECT, no mTLS${d.status ? `: ${d.status}` : ''}${d.error ? `: ${d.error}` : ''}`;
      return `${d.upstream === UPSTREAM_REUSED ? 'reused upstream connection, ' : ''}CONNECT :authority ${d.authority} to ${d.hbone}, x-envoy-original-dst-host ${d['x-envoy-original-dst-host']}; mTLS ${d.identity} → ${d.expect}${d.status ? `: ${d.status}` : ''}${d.error ? `: ${d.error}` : ''}`;
  }
}

export function traceJson(t: RequestTrace, scenario?: Scenario): Record<string, unknown> {
  // Before its record comes (a waypoint keeps its upstream open), the destination's ztunnel is
  // still known: the one on the node of the pod the request went to.
  const authority = t.waypoint ? originateDetail(t.waypoint, 'authority') : field(t.outbound, 'dst.hbone_addr');
  const pod = authority ? scenario?.workloads.find((w) => authority.startsWith(`${w.ip}:`)) : undefined;
  return {
    traceId: t.traceId,
    outbound: t.outbound?.fields,
    waypoint: t.waypoint?.fields,
    inbound: t.inbound?.fields,
    tunnelTrace: t.tunnelTrace,
    // The process that wrote each record, as the hop lines name them.
    reporters: { outbound: t.outbound?.reporter, waypoint: t.waypoint?.reporter, inbound: t.inbound?.reporter ?? (pod ? `ztunnel-${pod.node}` : undefined) },
  };
}

function errorNote(r: AccessRecord | undefined): string {
  const e = field(r, 'error');
  return e ? `; error: ${e}` : '';
}
