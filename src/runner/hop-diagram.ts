// One request as a sequence diagram (`hbone-sim trace --mermaid`, `--svg FILE`): the same facts
// as the hop-by-hop lines of trace --follow (its --json records), drawn as the seed article draws
// the path: the client pod, its ztunnel, the waypoint with its four stages, the destination's
// ztunnel, the destination pod, and the time each process spent. Mermaid text for a Markdown
// page; SVG, drawn here with no library, for anywhere else.

/** What `trace --follow --json` tells of one request from a pod in the mesh. */
export interface TracedRequest {
  readonly pod: string;
  readonly target: string;
  readonly traceId?: string;
  readonly outbound?: Readonly<Record<string, unknown>>;
  readonly waypoint?: Readonly<Record<string, unknown>>;
  readonly inbound?: Readonly<Record<string, unknown>>;
  /** A request through the ingress gateway: the gateway's own record (its four stages). */
  readonly gateway?: Readonly<Record<string, unknown>>;
  /** The process that wrote each record: ztunnel-node-a, the waypoint pod, ztunnel-node-b. */
  readonly reporters?: { readonly outbound?: string; readonly waypoint?: string; readonly gateway?: string; readonly inbound?: string };
}

export interface Participant {
  readonly id: string;
  readonly name: string;
  /** What it is on the path: pod, ztunnel, waypoint. */
  readonly role: string;
}

export type Step =
  | { readonly kind: 'message'; readonly from: string; readonly to: string; readonly text: string; readonly reply?: boolean; readonly refused?: boolean }
  | { readonly kind: 'note'; readonly over: string; readonly text: string };

export interface SequenceDiagram {
  readonly title: string;
  readonly participants: readonly Participant[];
  readonly steps: readonly Step[];
}

interface StageRecord {
  readonly name: string;
  readonly durationMs: number;
  readonly detail: Readonly<Record<string, unknown>>;
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/** Whether a --json line is a request this draws: one from a pod in the mesh, or through the ingress gateway. */
export function isDrawable(t: TracedRequest): boolean {
  return (t.outbound !== undefined || t.gateway !== undefined || t.waypoint !== undefined) && t.pod !== undefined;
}

export function diagramOf(t: TracedRequest): SequenceDiagram {
  if (t.gateway) return gatewayDiagram(t, t.gateway);
  const out = t.outbound ?? {};
  const f = (k: string) => str(out[k]);
  const wp = t.waypoint;
  const inb = t.inbound;
  const sourceZtunnel = t.reporters?.outbound ?? 'ztunnel (source)';
  // Through a waypoint, the source's record names the waypoint: the pod is in stage 3's endpoint.
  const endpoint = str(((wp?.stages ?? []) as readonly StageRecord[])[2]?.detail.endpoint).split(' ')[0];
  const destination = str(inb?.['dst.workload']) || (wp ? endpoint : f('dst.workload')) || 'destination pod';
  const destinationZtunnel = t.reporters?.inbound ?? 'ztunnel (destination)';
  const participants: Participant[] = [
    { id: 'client', name: t.pod, role: 'pod' },
    { id: 'zsrc', name: sourceZtunnel, role: 'ztunnel' },
    ...(wp ? [{ id: 'wp', name: t.reporters?.waypoint ?? 'waypoint', role: 'waypoint' }] : []),
    { id: 'zdst', name: destinationZtunnel, role: 'ztunnel' },
    { id: 'dst', name: destination, role: 'pod' },
  ];
  const steps: Step[] = [];
  // Seen only by the waypoint so far (the client's connection is still open): its stage 1 says
  // what the CONNECT carried.
  const open = !t.outbound && wp ? ((wp.stages ?? []) as readonly StageRecord[])[0]?.detail : undefined;
  steps.push({ kind: 'message', from: 'client', to: 'zsrc', text: `TCP to ${t.target}, captured${open ? '' : ` (${f('src.addr')})`}` });
  if (open) {
    steps.push({
      kind: 'message',
      from: 'zsrc',
      to: 'wp',
      text: `HBONE CONNECT :authority ${str(open.authority)} to ${str(open.listener)}, mTLS ${str(open.peer)} → ${str(open.identity)}`,
    });
    steps.push({
      kind: 'note',
      over: 'zsrc',
      text: `connection still open: ${sourceZtunnel} logs it when it closes${t.traceId ? `; trace ${t.traceId}` : ''}`,
    });
  } else if (!f('dst.hbone_addr')) {
    // Plain TCP: the destination is not in the mesh, or outside the cluster.
    steps.push({ kind: 'message', from: 'zsrc', to: 'dst', text: `plain TCP to ${f('dst.addr')}: no HBONE, no mTLS${f('error') ? `: ${f('error')}` : ''}` });
    return { title: title(t), participants, steps };
  }
  const next = wp ? 'wp' : 'zdst';
  if (!open)
    steps.push({
      kind: 'message',
      from: 'zsrc',
      to: next,
      text: `HBONE CONNECT :authority ${f('dst.hbone_addr')} to ${f('dst.addr')}, mTLS ${f('src.identity')} → ${f('dst.identity')}`,
      refused: f('error') !== '',
    });
  if (!open) steps.push({ kind: 'note', over: 'zsrc', text: `${f('duration')} in ${sourceZtunnel}${t.traceId ? `, trace ${t.traceId}` : ''}` });
  if (wp) {
    const stages = (wp.stages ?? []) as readonly StageRecord[];
    stages.forEach((s, i) =>
      steps.push({ kind: 'note', over: 'wp', text: `${i + 1} ${s.name}: ${stageSummary(i, s.detail)} (${s.durationMs.toFixed(1)} ms)` }),
    );
    const last = stages[stages.length - 1];
    const reachedPod = stages.length >= 4 && str(last?.detail.authority) !== '';
    if (reachedPod) {
      steps.push({
        kind: 'message',
        from: 'wp',
        to: 'zdst',
        text: `CONNECT :authority ${str(last.detail.authority)}, mTLS ${str(last.detail.identity)}`,
        refused: str(last.detail.error) !== '',
      });
    }
    if (reachedPod && !last.detail.error) steps.push(...toPod(inb, destinationZtunnel, str(last.detail.authority)));
    steps.push({
      kind: 'message',
      from: reachedPod && !last.detail.error ? 'dst' : 'wp',
      to: 'client',
      text: `HTTP ${str(wp.status)} (${Number(wp.durationMs).toFixed(1)} ms in the waypoint)`,
      reply: true,
    });
  } else if (!f('error')) {
    steps.push(...toPod(inb, destinationZtunnel, f('dst.hbone_addr')));
    steps.push({ kind: 'message', from: 'dst', to: 'client', text: 'bytes back over the same tunnel', reply: true });
  }
  if (f('error')) steps.push({ kind: 'note', over: 'zsrc', text: `refused: ${f('error')}` });
  return { title: title(t), participants, steps };
}

/** From outside the mesh through the ingress gateway: plain HTTP in, its stages, HBONE out as itself. */
function gatewayDiagram(t: TracedRequest, gw: Readonly<Record<string, unknown>>): SequenceDiagram {
  const stages = (gw.stages ?? []) as readonly StageRecord[];
  const accept = stages[0]?.detail ?? {};
  const last = stages[stages.length - 1];
  const reachedPod = stages.length >= 4 && str(last?.detail.authority) !== '' && !last.detail.error;
  const mesh = reachedPod && !last.detail.plaintext;
  const endpoint = str(stages[2]?.detail.endpoint).split(' ')[0];
  const destinationZtunnel = t.reporters?.inbound ?? 'ztunnel (destination)';
  const participants: Participant[] = [
    { id: 'client', name: str(accept.client) || 'client', role: 'outside the mesh' },
    { id: 'gw', name: t.reporters?.gateway ?? t.pod, role: 'ingress gateway' },
    ...(mesh ? [{ id: 'zdst', name: destinationZtunnel, role: 'ztunnel' }] : []),
    { id: 'dst', name: str(t.inbound?.['dst.workload']) || endpoint || 'destination pod', role: 'pod' },
  ];
  const steps: Step[] = [
    { kind: 'message', from: 'client', to: 'gw', text: `${str(stages[1]?.detail.request) || 'HTTP'} to ${str(accept.listener)}, plaintext` },
  ];
  stages.forEach((st, i) =>
    steps.push({ kind: 'note', over: 'gw', text: `${i + 1} ${st.name}: ${gatewayStageSummary(i, st.detail)} (${st.durationMs.toFixed(1)} ms)` }),
  );
  if (mesh) {
    steps.push({ kind: 'message', from: 'gw', to: 'zdst', text: `CONNECT :authority ${str(last.detail.authority)}, mTLS ${str(last.detail.identity)}` });
    steps.push(...toPod(t.inbound, destinationZtunnel, str(last.detail.authority)));
  } else if (reachedPod) {
    steps.push({ kind: 'message', from: 'gw', to: 'dst', text: `plain HTTP to ${str(last.detail.authority)}: the pod is not in the mesh` });
  }
  steps.push({
    kind: 'message',
    from: reachedPod ? 'dst' : 'gw',
    to: 'client',
    text: `HTTP ${str(gw.status)} (${Number(gw.durationMs).toFixed(1)} ms in the gateway)`,
    reply: true,
  });
  return { title: `${participants[0].name} → ${participants[1].name}: ${str(stages[1]?.detail.request)}`, participants, steps };
}

function gatewayStageSummary(i: number, d: Readonly<Record<string, unknown>>): string {
  return i === 0 ? `accepted from ${str(d.client)}, ${str(d.tls)}` : stageSummary(i, d);
}

function toPod(inb: Readonly<Record<string, unknown>> | undefined, ztunnel: string, authority: string): Step[] {
  if (!inb)
    return [
      { kind: 'message', from: 'zdst', to: 'dst', text: `TCP ${authority}` },
      { kind: 'note', over: 'zdst', text: `the upstream connection stays open for the next request, as Envoy keeps it; ${ztunnel} logs it when it closes` },
    ];
  if (inb.error) return [{ kind: 'note', over: 'zdst', text: `refused: ${str(inb.error)}` }];
  const policy = inb.policy ? `allowed by ${str(inb.policy)}` : 'no L4 policy applies';
  return [
    { kind: 'note', over: 'zdst', text: `peer ${str(inb['src.identity'])}, ${policy} (${str(inb.duration)})` },
    { kind: 'message', from: 'zdst', to: 'dst', text: `TCP ${str(inb['dst.hbone_addr'])}` },
  ];
}

function stageSummary(i: number, d: Readonly<Record<string, unknown>>): string {
  switch (i) {
    case 0:
      return `:authority ${str(d.authority)} → ${str(d.service ?? d.workload)}`;
    case 1:
      return `${str(d.request)} → route ${str(d.route)}${d.backend ? `, ${str(d.backend)}` : ''}${d.status ? `: ${str(d.status)}` : ''}`;
    case 2:
      return `RBAC ${str(d.rbac)} (${str(d.policy === 'none' ? d.reason : d.policy)}), endpoint ${str(d.endpoint)}`;
    default:
      return `${str(d.upstream) === 'reused' ? 'reused, ' : ''}to ${str(d.authority)}${d.status ? `: ${str(d.status)}` : ''}${d.error ? `: ${str(d.error)}` : ''}`;
  }
}

function title(t: TracedRequest): string {
  return `${t.pod} → ${t.target}`;
}

/** Mermaid's sequenceDiagram. `;` ends a statement and `#` starts an entity there: both are replaced. */
export function toMermaid(d: SequenceDiagram): string {
  const text = (s: string) => s.replace(/;/g, ',').replace(/#/g, 'no. ');
  const lines = ['sequenceDiagram', `  title ${text(d.title)}`];
  for (const p of d.participants) lines.push(`  participant ${p.id} as ${text(p.name)}<br/>(${p.role})`);
  for (const s of d.steps) {
    if (s.kind === 'note') lines.push(`  Note over ${s.over}: ${text(s.text)}`);
    else lines.push(`  ${s.from}${s.reply ? '-->>' : s.refused ? '-x' : '->>'}${s.to}: ${text(s.text)}`);
  }
  return lines.join('\n') + '\n';
}

// The SVG's geometry, in px. Text is monospace: a character is about 0.6 of the font size wide.
const COLUMN = 300;
const MARGIN = 20;
const HEADER = 56;
const LINE = 14;
const GAP = 12;
const FONT = 11;
const CHAR = FONT * 0.6;
/** A note may spread over this many columns, centred on its participant. */
const NOTE_COLUMNS = 1.8;
/** Lines a label may take; beyond them it is cut with an ellipsis (the full text is its tooltip). */
const MAX_LINES = 3;

/** The diagram as a standalone SVG document: boxes, lifelines, arrows, notes; no script, no external resource. */
export function toSvg(d: SequenceDiagram): string {
  const xOf = new Map(d.participants.map((p, i) => [p.id, MARGIN + COLUMN / 2 + i * COLUMN]));
  const width = MARGIN * 2 + COLUMN * d.participants.length;
  const body: string[] = [];
  let y = HEADER + GAP;
  for (const s of d.steps) {
    if (s.kind === 'note') {
      const x = xOf.get(s.over)!;
      const w = Math.min(COLUMN * NOTE_COLUMNS, width - 2 * MARGIN);
      const left = Math.max(MARGIN, Math.min(x - w / 2, width - MARGIN - w));
      const lines = wrap(s.text, Math.floor((w - 10) / CHAR));
      const h = lines.length * LINE + 6;
      body.push(
        `<g class="note"><title>${xml(s.text)}</title><rect x="${left}" y="${y}" width="${w}" height="${h}" fill="#fff8dc" stroke="#c9b458"/>`,
        textLines(left + w / 2, y + LINE - 1, lines, '#222'),
        '</g>',
      );
      y += h + GAP;
      continue;
    }
    const [x1, x2] = [xOf.get(s.from)!, xOf.get(s.to)!];
    // A label may run past a short arrow's ends, as wide as a note.
    const lines = wrap(s.text, Math.floor((Math.max(Math.abs(x2 - x1), COLUMN * NOTE_COLUMNS) - 10) / CHAR));
    const arrowY = y + lines.length * LINE + 2;
    const dash = s.reply ? ' stroke-dasharray="6 4"' : '';
    const color = s.refused ? '#b22' : '#333';
    body.push(
      `<g class="message"><title>${xml(s.text)}</title>`,
      textLines((x1 + x2) / 2, y + LINE - 3, lines, color),
      `<line x1="${x1}" y1="${arrowY}" x2="${x2}" y2="${arrowY}" stroke="${color}"${dash} marker-end="url(#arrow)"/></g>`,
    );
    y = arrowY + GAP;
  }
  const height = y + MARGIN;
  const head: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="${FONT}">`,
    `<title>${xml(d.title)}</title>`,
    '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#333"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${MARGIN}" y="16" font-size="${FONT + 2}" font-weight="bold">${xml(d.title)}</text>`,
  ];
  for (const p of d.participants) {
    const x = xOf.get(p.id)!;
    head.push(
      `<g class="participant" data-id="${p.id}"><rect x="${x - COLUMN / 2 + 10}" y="24" width="${COLUMN - 20}" height="30" rx="4" fill="#eef3fb" stroke="#4a6fa5"/>`,
      `<text x="${x}" y="37" text-anchor="middle">${xml(cut(p.name, Math.floor((COLUMN - 30) / CHAR)))}</text><text x="${x}" y="50" text-anchor="middle" fill="#555">${xml(p.role)}</text>`,
      `<line x1="${x}" y1="${HEADER}" x2="${x}" y2="${height - MARGIN}" stroke="#999" stroke-dasharray="4 3"/></g>`,
    );
  }
  return [...head, ...body, '</svg>'].join('\n') + '\n';
}

/** Lines of at most `width` characters, broken at spaces where it can; at most MAX_LINES. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width && lines.length < MAX_LINES - 1) {
    // At a space if there is one in the second half, else after a / or a . (a URL, a host name).
    const space = rest.lastIndexOf(' ', width);
    const mark = Math.max(rest.lastIndexOf('/', width - 1), rest.lastIndexOf('.', width - 1)) + 1;
    const at = space > width / 2 ? space : mark > width / 2 ? mark : width;
    lines.push(rest.slice(0, at));
    rest = rest.slice(at).trimStart();
  }
  lines.push(cut(rest, width));
  return lines;
}

function textLines(x: number, y: number, lines: readonly string[], color: string): string {
  return lines.map((l, i) => `<text x="${x}" y="${y + i * LINE}" text-anchor="middle" fill="${color}">${xml(l)}</text>`).join('');
}

function cut(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
