// One request told from the record it starts at, the same way wherever it is told: `trace
// --follow` as lines or JSON, the live page as a list row and a sequence diagram. A request
// starts at its source ztunnel's outbound record (a pod in the mesh), at the ingress gateway's
// trace (a client outside the cluster), or at the destination's inbound plaintext record (a pod
// outside the mesh, seen only by the destination's ztunnel on :15006).
import type { Scenario } from '../mesh/model';
import { AccessRecord, field, isTrace } from './access-records';
import { WAYPOINT_APP } from '../mesh/app-kinds';
import {
  stageDetail,
  gatewayHops,
  gatewayInbound,
  hopsOf,
  isGatewayTrace,
  isPlaintextInbound,
  originateDetail,
  plaintextInboundHops,
  traceFromOutbound,
  traceFromWaypoint,
  traceJson,
} from './hop-trace';

/** Records looked at around a request: its waypoint's trace is written before ztunnel's record. */
export const STORY_WINDOW_MS = 30_000;

export type StoryKind = 'mesh' | 'gateway' | 'plaintext' | 'waypoint';

export interface RequestStory {
  readonly kind: StoryKind;
  /** The pod the request came from (the gateway's pod for a request through it). */
  readonly from: string;
  /** What it was sent to, as the source named it: a service, an address, or the gateway's request line. */
  readonly target: string;
  /** The pod that got it, when known. */
  readonly to?: string;
  /** The hop lines `trace --follow` prints under the request. */
  readonly hops: readonly string[];
  /** What `trace --follow --json` prints for it (the raw records of every hop). */
  readonly json: Readonly<Record<string, unknown>>;
}

/** Which kind of request starts at this record, if any. */
export function storyKindOf(scenario: Scenario, r: AccessRecord): StoryKind | undefined {
  if (!isTrace(r) && field(r, 'direction') === 'outbound' && field(r, 'src.workload')) return 'mesh';
  if (isGatewayTrace(scenario, r)) return 'gateway';
  if (isPlaintextInbound(r)) return 'plaintext';
  return undefined;
}

/** The pod a request starting at `r` came from, without reading the other hops. */
export function storySource(kind: StoryKind, r: AccessRecord): string {
  return kind === 'gateway' ? r.reporter : field(r, 'src.workload') || field(r, 'src.addr');
}

/** The request that starts at `start`, told with the records around it (`records` since STORY_WINDOW_MS before it). */
export function requestStory(scenario: Scenario, records: AccessRecord[], start: AccessRecord): RequestStory | undefined {
  const kind = storyKindOf(scenario, start);
  if (kind === 'plaintext') {
    const target = field(start, 'dst.service') || field(start, 'dst.addr');
    const to = field(start, 'dst.workload') || undefined;
    const json = { pod: storySource(kind, start), target, plaintext: true, inbound: start.fields };
    return { kind, from: storySource(kind, start), target, ...(to ? { to } : {}), hops: plaintextInboundHops(scenario, start), json };
  }
  if (kind === 'gateway') {
    const stages = (start.fields.stages ?? []) as Array<{ detail: Record<string, unknown> }>;
    const target = String(stages[1]?.detail.request ?? '');
    const { inbound, pod } = gatewayInbound(scenario, start, records);
    const reporters = { gateway: start.reporter, inbound: inbound?.reporter ?? (pod ? `ztunnel-${pod.node}` : undefined) };
    const json = { pod: start.reporter, target, gateway: start.fields, inbound: inbound?.fields, reporters };
    return { kind, from: start.reporter, target, ...(pod ? { to: pod.name } : {}), hops: gatewayHops(scenario, start, records), json };
  }
  if (kind !== 'mesh') return undefined;
  const pod = scenario.workloads.find((w) => w.name === field(start, 'src.workload'));
  if (!pod) return undefined;
  const trace = traceFromOutbound(scenario, records, start);
  const target = field(start, 'dst.service') || field(start, 'dst.addr');
  // Through a waypoint the source's record names the waypoint; the pod is where it sent the CONNECT.
  const authority = trace.waypoint ? originateDetail(trace.waypoint, 'authority') : field(start, 'dst.hbone_addr') || field(start, 'dst.addr');
  const to = field(trace.inbound, 'dst.workload') || scenario.workloads.find((w) => authority.startsWith(`${w.ip}:`))?.name;
  return {
    kind,
    from: pod.name,
    target,
    ...(to ? { to } : {}),
    hops: hopsOf(scenario, pod, trace),
    json: { pod: pod.name, target, ...traceJson(trace, scenario) },
  };
}

/** Whether `r` is a waypoint's trace of one request (the page lists an edge's requests from these). */
export function isWaypointTrace(scenario: Scenario, r: AccessRecord): boolean {
  return isTrace(r) && scenario.workloads.some((w) => w.name === r.reporter && w.app.kind === WAYPOINT_APP);
}

/** The pod a waypoint's request came from: its stage 1 names the client's address. */
export function waypointClient(scenario: Scenario, wp: AccessRecord): string | undefined {
  const client = stageDetail(wp, 0, 'client');
  const ip = client.slice(0, client.lastIndexOf(':'));
  return ip ? scenario.workloads.find((w) => w.ip === ip)?.name : undefined;
}

/**
 * A request the waypoint served, told from its trace: in full from the source ztunnel's record
 * when that is written (its connection closed), else with what the waypoint knows, since a
 * client's connection pool (productpage's to reviews) can keep it open for minutes.
 */
export function waypointStory(scenario: Scenario, records: AccessRecord[], wp: AccessRecord): RequestStory | undefined {
  const traceId = String(wp.fields.traceId ?? '');
  const authority = stageDetail(wp, 0, 'authority');
  const outbound = records.find(
    (r) => !isTrace(r) && field(r, 'direction') === 'outbound' && field(r, 'trace_id') === traceId && field(r, 'dst.hbone_addr') === authority,
  );
  if (outbound) {
    const story = requestStory(scenario, records, outbound);
    // Several requests on one connection: the outbound record joins the first; this one is wp.
    if (story && (story.json as { waypoint?: unknown }).waypoint === wp.fields) return story;
  }
  const pod = scenario.workloads.find((w) => w.name === waypointClient(scenario, wp));
  if (!pod) return undefined;
  const trace = traceFromWaypoint(records, wp);
  const target = stageDetail(wp, 0, 'service') || authority;
  const dst = originateDetail(wp, 'authority') || stageDetail(wp, 2, 'endpoint').split(' ')[1] || '';
  const to = scenario.workloads.find((w) => dst.startsWith(`${w.ip}:`) || dst === w.ip)?.name;
  const json = { pod: pod.name, target, ...traceJson(trace, scenario), reporters: { outbound: `ztunnel-${pod.node}`, waypoint: wp.reporter } };
  return { kind: 'waypoint', from: pod.name, target, ...(to ? { to } : {}), hops: hopsOf(scenario, pod, trace), json };
}

/** The lines `trace --follow` prints for a request. */
export function storyText(story: RequestStory, at: Date): string {
  const arrow = story.kind === 'gateway' ? '←' : '→';
  return [`${at.toISOString()} ${story.from} ${arrow} ${story.target}`, ...story.hops.map((h) => `    ${h}`), ''].join('\n') + '\n';
}
