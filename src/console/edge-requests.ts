// An edge's recent requests and connections, and any one of them hop by hop: what the page shows
// when a learner clicks an edge, then a row. The rows come from the runner's kept records (the
// same ones `trace --follow` tells), so the page and the terminal tell the same story.
import type { Scenario } from '../mesh/model';
import { selects } from '../mesh/model';
import { AccessRecord, AccessRecords, field } from '../runner/access-records';
import {
  isWaypointTrace,
  requestStory,
  RequestStory,
  storyKindOf,
  storySource,
  storyText,
  STORY_WINDOW_MS,
  waypointClient,
  waypointStory,
} from '../runner/request-story';
import { diagramOf, isDrawable, toMermaid, toSvg, TracedRequest } from '../runner/hop-diagram';

/** Rows a click shows: the newest requests of the edge. */
export const MAX_ROWS = 20;
/** Starts looked at for one edge, newest first: bounds the work of a click on a busy mesh. */
const MAX_CANDIDATES = 400;
/** How far back a click looks. */
const LOOKBACK_MS = 5 * 60_000;

export interface RequestRow {
  /** What /api/request takes to tell this one again. */
  readonly id: string;
  readonly time: string;
  readonly from: string;
  readonly to?: string;
  readonly target: string;
  /** The HTTP status, or what happened to the connection. */
  readonly status: string;
  readonly durationMs?: number;
}

export interface RequestDetail {
  readonly row: RequestRow;
  /** The hop lines, exactly as `trace --follow` prints them. */
  readonly text: string;
  readonly svg?: string;
  readonly mermaid?: string;
  readonly json: Readonly<Record<string, unknown>>;
}

const idOf = (r: AccessRecord): string => `${r.reporter}@${r.at}`;

function workloadKey(s: Scenario, pod: string | undefined): string | undefined {
  const w = pod ? s.workloads.find((x) => x.name === pod) : undefined;
  return w ? `${w.namespace}/${w.workloadName}` : undefined;
}

/**
 * Whether the request went to workload `to`: the pod that got it, or, for one denied or failed
 * before a pod was picked, a pod of the Service it was sent to (the edge the graph counts it on:
 * the waypoint reports it against the Service's workload).
 */
function reaches(s: Scenario, story: RequestStory, to: string): boolean {
  if (story.to) return workloadKey(s, story.to) === to;
  const svc = s.services.find((x) => story.target === `${x.name}.${x.namespace}.svc.cluster.local`);
  if (!svc) return false;
  return s.workloads.some((w) => w.namespace === svc.namespace && `${w.namespace}/${w.workloadName}` === to && selects(svc.selector, w.labels));
}

function statusOf(story: RequestStory): { status: string; durationMs?: number } {
  const j = story.json as Record<string, Record<string, unknown> | undefined>;
  const l7 = j.waypoint ?? j.gateway;
  if (l7?.status !== undefined) return { status: String(l7.status), durationMs: Number(l7.durationMs) };
  const r = j.outbound ?? j.inbound;
  const ms = Number.parseFloat(String(r?.duration ?? ''));
  const error = r?.error;
  return { status: error ? `reset: ${String(error)}` : 'connected', ...(Number.isFinite(ms) ? { durationMs: ms } : {}) };
}

function rowOf(start: AccessRecord, story: RequestStory): RequestRow {
  return { id: idOf(start), time: field(start, 'time'), from: story.from, ...(story.to ? { to: story.to } : {}), target: story.target, ...statusOf(story) };
}

/**
 * The newest requests from workload `from` that reached workload `to` (both namespace/workload).
 * Through a waypoint (`via`), each request the waypoint served: its trace is written per request,
 * where ztunnel's record waits for the connection to close. Otherwise from where each starts.
 */
export function edgeRequests(s: Scenario, records: AccessRecords, edge: { from: string; to: string; via?: string }): RequestRow[] {
  const recent = records.since(performance.now() - LOOKBACK_MS);
  const rows: RequestRow[] = [];
  let looked = 0;
  for (let i = recent.length - 1; i >= 0 && rows.length < MAX_ROWS && looked < MAX_CANDIDATES; i--) {
    const r = recent[i];
    const around = () => recent.slice(lowerBound(recent, r.at - STORY_WINDOW_MS));
    if (edge.via) {
      if (!isWaypointTrace(s, r) || workloadKey(s, r.reporter) !== edge.via || workloadKey(s, waypointClient(s, r)) !== edge.from) continue;
      looked++;
      const story = waypointStory(s, around(), r);
      if (story && reaches(s, story, edge.to)) rows.push(rowOf(r, story));
      continue;
    }
    const kind = storyKindOf(s, r);
    if (!kind || workloadKey(s, storySource(kind, r)) !== edge.from) continue;
    looked++;
    const story = requestStory(s, around(), r);
    if (story && reaches(s, story, edge.to)) rows.push(rowOf(r, story));
  }
  return rows;
}

/** One request by its row id, told in full: lines, sequence diagram, raw records. */
export function requestDetail(s: Scenario, records: AccessRecords, id: string): RequestDetail | undefined {
  const at = Number(id.slice(id.lastIndexOf('@') + 1));
  const reporter = id.slice(0, id.lastIndexOf('@'));
  if (!Number.isFinite(at)) return undefined;
  const around = records.since(at - STORY_WINDOW_MS);
  const start = around.find((r) => r.at === at && r.reporter === reporter);
  const story = !start ? undefined : isWaypointTrace(s, start) ? waypointStory(s, around, start) : requestStory(s, around, start);
  if (!start || !story) return undefined;
  const traced = story.json as unknown as TracedRequest;
  const drawable = isDrawable(traced);
  return {
    row: rowOf(start, story),
    text: storyText(story, new Date(field(start, 'time') || Date.now())),
    ...(drawable ? { svg: toSvg(diagramOf(traced)), mermaid: toMermaid(diagramOf(traced)) } : {}),
    json: story.json,
  };
}

/** The first index whose record was read at or after t (records are in time order). */
function lowerBound(records: readonly AccessRecord[], t: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (records[mid].at < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
