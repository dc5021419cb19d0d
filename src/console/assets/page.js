// The live page's script: draws the topology the server sends (nodes as boxes holding their pods
// and ztunnel, services above), lays the live edges over it, and asks the server for what a click
// wants. Plain DOM and SVG, no library: the layout is the cluster's own (nodes side by side), so a
// general graph layout would only move things a learner expects to stay put.
'use strict';
(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const TOKEN = document.querySelector('meta[name="hbone-sim-token"]').content;
  const POD_W = 210;
  const POD_H = 40;
  const GAP = 14;
  /** Between the pods of a node: room for the edges and their labels. */
  const ROW_GAP = 34;
  const NODE_PAD = 14;
  const NODE_TITLE = 26;
  const ZT_H = 30;
  const SERVICE_H = 34;
  const TOP = 16;

  const state = { topology: null, graph: null, positions: new Map(), selected: null };
  const svg = document.getElementById('topology');

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(tag, props, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children || []) if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  }
  function text(parent, x, y, s, cls) {
    const t = el('text', { x, y, class: cls || '' }, parent);
    t.textContent = s;
    return t;
  }
  async function api(path, init) {
    const res = await fetch(path, { ...(init || {}), headers: { 'x-hbone-sim-token': TOKEN, ...((init && init.headers) || {}) } });
    const body = await res.json();
    if (!res.ok) throw new Error(body.message || 'HTTP ' + res.status);
    return body;
  }
  const short = (id) => (id || '').split('/').pop();
  function rate(n, unit) {
    if (n >= 100) return n.toFixed(0) + ' ' + unit;
    if (n >= 1) return n.toFixed(1) + ' ' + unit;
    return n > 0 ? n.toFixed(2) + ' ' + unit : '0 ' + unit;
  }
  function bytes(n) {
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + ' MB/s';
    if (n >= 1024) return (n / 1024).toFixed(1) + ' KB/s';
    return n.toFixed(0) + ' B/s';
  }

  // ---- topology -------------------------------------------------------------------------------
  function podLabel(p) {
    if (p.role === 'waypoint') return 'waypoint ' + p.workload;
    if (p.role === 'gateway') return 'gateway ' + p.workload;
    return p.workload;
  }

  function drawTopology() {
    const t = state.topology;
    svg.textContent = '';
    state.positions.clear();
    const defs = el('defs', {}, svg);
    const marker = el(
      'marker',
      { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto' },
      defs,
    );
    el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#5b6b7e' }, marker);
    const pods = new Map(t.pods.map((p) => [p.namespace + '/' + p.name, p]));
    // Services in a row along the top, with their VIPs and the waypoint each is bound to.
    const services = el('g', { class: 'services' }, svg);
    let sx = NODE_PAD;
    for (const s of t.services) {
      const label = s.name + ' ' + s.vip + ':' + s.ports.join(',') + (s.waypoint ? ' → ' + s.waypoint : '');
      const w = Math.max(120, label.length * 6.2 + 16);
      const g = el('g', { class: 'service', 'data-service': s.namespace + '/' + s.name, transform: `translate(${sx},${TOP})` }, services);
      el('rect', { width: w, height: SERVICE_H - 8, rx: 13 }, g);
      text(g, 8, 17, label);
      sx += w + 8;
    }
    state.servicesEnd = sx;
    // One column of pods per node, two wide; the node's ztunnel along its bottom.
    const top = TOP + SERVICE_H + 14;
    let x = NODE_PAD;
    let maxH = 0;
    // One column a node: edges between nodes then fan out by height, not along one row.
    const cols = 1;
    for (const n of t.nodes) {
      const nodePods = n.pods.map((k) => pods.get(k)).filter(Boolean);
      const rows = Math.max(1, Math.ceil(nodePods.length / cols));
      const w = cols * POD_W + (cols + 1) * GAP;
      const hgt = NODE_TITLE + rows * (POD_H + ROW_GAP) + ZT_H + GAP;
      maxH = Math.max(maxH, hgt);
      const g = el('g', { class: 'node', 'data-node': n.name, transform: `translate(${x},${top})` }, svg);
      el('rect', { class: 'node-box', width: w, height: hgt, rx: 8 }, g);
      text(g, GAP, 18, n.name + '  ' + n.ip, 'node-title');
      nodePods.forEach((p, i) => {
        const px = GAP + (i % cols) * (POD_W + GAP);
        const py = NODE_TITLE + Math.floor(i / cols) * (POD_H + ROW_GAP);
        const key = p.namespace + '/' + p.name;
        const cls = ['pod', p.role === 'app' ? '' : p.role, p.inMesh ? 'in-mesh' : 'out-of-mesh'].join(' ');
        const pg = el('g', { class: cls, 'data-pod': key, 'data-role': p.role, 'data-in-mesh': p.inMesh, transform: `translate(${px},${py})` }, g);
        el('rect', { width: POD_W, height: POD_H, rx: p.role === 'app' ? 6 : 14 }, pg);
        text(pg, 8, 16, podLabel(p) + (p.inMesh ? '' : '  (not in the mesh)'));
        text(pg, 8, 31, p.ip + '  ' + p.name.slice(p.workload.length + 1));
        pg.addEventListener('click', () => selectPod(p));
        state.positions.set('pod:' + key, { x: x + px + POD_W / 2, y: top + py + POD_H / 2 });
        // Edges name workloads: the first pod of each stands for it (as Kiali's workload graph).
        const wk = p.namespace + '/' + p.workload;
        if (!state.positions.has('workload:' + wk)) state.positions.set('workload:' + wk, { x: x + px + POD_W / 2, y: top + py + POD_H / 2 });
      });
      const zy = hgt - ZT_H - GAP;
      const zg = el('g', { class: 'ztunnel', 'data-ztunnel': n.ztunnel, transform: `translate(${GAP},${zy})` }, g);
      el('rect', { width: w - 2 * GAP, height: ZT_H, rx: 4 }, zg);
      text(zg, 8, 19, n.ztunnel + '  :15008 :15001 :15006');
      el('title', {}, zg).textContent = n.ztunnel + ': HBONE :15008, outbound capture :15001, inbound plaintext :15006';
      zg.addEventListener('click', () => selectProxy(n.ztunnel, zg));
      x += w + NODE_PAD;
    }
    state.edgeLayer = el('g', { class: 'edges' }, svg);
    svg.setAttribute('width', Math.max(x, sx + 160) + NODE_PAD);
    svg.setAttribute('height', top + maxH + 40);
    document.getElementById('mesh-name').textContent = 'mesh ' + t.mesh;
    if (state.graph) drawEdges();
  }

  // ---- edges ----------------------------------------------------------------------------------
  function anchor(workload) {
    const p = state.positions.get('workload:' + workload);
    if (p) return p;
    // A peer the metrics could not name (a client outside the cluster, a request refused before
    // its peer was known): one box for all of them, after the services.
    let u = state.positions.get('unknown');
    if (!u) {
      const g = el('g', { class: 'pod unknown', 'data-pod': 'unknown', transform: `translate(${state.servicesEnd},${TOP})` }, state.edgeLayer);
      el('rect', { width: 150, height: SERVICE_H - 8, rx: 13 }, g);
      text(g, 8, 17, 'unknown (no workload)');
      u = { x: state.servicesEnd + 75, y: TOP + (SERVICE_H - 8) / 2 };
      state.positions.set('unknown', u);
    }
    return u;
  }
  /** Where the line from `c` (a box's centre) towards `p` leaves the box. */
  function border(c, p) {
    const dx = p.x - c.x;
    const dy = p.y - c.y;
    if (dx === 0 && dy === 0) return c;
    const k = Math.min(Math.abs((POD_W / 2 + 2) / (dx || 1e-9)), Math.abs((POD_H / 2 + 2) / (dy || 1e-9)));
    return { x: c.x + dx * k, y: c.y + dy * k };
  }
  function curve(a0, b0, bend) {
    const mx = (a0.x + b0.x) / 2;
    const my = (a0.y + b0.y) / 2 - bend;
    const a = border(a0, { x: mx, y: my });
    const b = border(b0, { x: mx, y: my });
    // The label sits two thirds of the way along, nearer the destination: edges leaving one
    // busy pod (the waypoint) then spread their labels apart.
    const k = 0.6;
    const at = (p, q, r) => (1 - k) * (1 - k) * p + 2 * k * (1 - k) * q + k * k * r;
    return { d: `M${a.x},${a.y} Q${mx},${my} ${b.x},${b.y}`, mid: { x: at(a.x, mx, b.x), y: at(a.y, my, b.y) } };
  }
  function edgeLabel(e) {
    const parts = [];
    if (e.protocol === 'http') parts.push(rate(e.rps, 'rps'));
    else parts.push(rate(e.cps, 'conn/s'));
    parts.push(bytes(e.bytesPerSec));
    if (e.denyRate > 0) parts.push((e.denyRate * 100).toFixed(0) + '% denied');
    else if (e.errorRate > 0) parts.push((e.errorRate * 100).toFixed(0) + '% failed');
    const codes = Object.keys(e.codes || {});
    if (codes.length) parts.push(codes.join('/'));
    return parts.join(' · ');
  }

  /** The mTLS padlock, drawn (an emoji would need a font the machine may not have). */
  function lock(parent, x, y) {
    const g = el('g', { class: 'lock-icon', transform: `translate(${x},${y})` }, parent);
    el('path', { d: 'M2.5 5V3.5a2.5 2.5 0 0 1 5 0V5', fill: 'none', stroke: '#2e7d32', 'stroke-width': 1.4 }, g);
    el('rect', { x: 1, y: 5, width: 8, height: 6.5, rx: 1, fill: '#2e7d32' }, g);
  }

  function drawEdges() {
    const layer = state.edgeLayer;
    if (!layer) return;
    layer.textContent = '';
    state.positions.delete('unknown');
    const g = state.graph;
    g.edges.forEach((e, i) => {
      const a = anchor(e.from);
      const b = anchor(e.to);
      const gEl = el(
        'g',
        {
          class: 'edge',
          'data-edge': e.id,
          'data-from': e.from,
          'data-to': e.to,
          'data-state': e.state,
          'data-requests': e.requests,
          'data-connections': e.connections,
        },
        layer,
      );
      if (e.via) gEl.setAttribute('data-via', e.via);
      const bend = 26 + (i % 3) * 14;
      let d;
      let mid;
      if (e.via && state.positions.has('workload:' + e.via)) {
        // Through the waypoint: into it, then out of it to the destination.
        const w = anchor(e.via);
        const one = curve(a, w, bend);
        const two = curve(w, b, bend);
        d = one.d + ' ' + two.d;
        mid = two.mid;
      } else {
        const c = curve(a, b, bend);
        d = c.d;
        mid = c.mid;
      }
      el('path', { class: 'hit', d }, gEl);
      el('path', { class: 'line', d }, gEl);
      // Quiet edges stay drawn but unlabelled, so the busy ones can be read.
      if (e.state !== 'idle' || (state.selected && state.selected.id === e.id)) {
        if (e.mtls) lock(gEl, mid.x + 4, mid.y - 13);
        text(gEl, mid.x + (e.mtls ? 16 : 4), mid.y - 4, edgeLabel(e), 'edge-label');
      }
      const title = el('title', {}, gEl);
      title.textContent = short(e.from) + ' → ' + short(e.to) + (e.via ? ' via ' + short(e.via) : '') + ': ' + edgeLabel(e);
      gEl.addEventListener('click', () => selectEdge(e));
      if (state.selected && state.selected.kind === 'edge' && state.selected.id === e.id) gEl.classList.add('selected');
    });
    const note = [];
    if (g.unreachable.length) note.push('not scraped this second: ' + g.unreachable.join('; '));
    if (g.dropped) note.push(g.dropped + ' edges left out (more than the page draws)');
    document.getElementById('graph-note').textContent = note.join(' · ');
    if (state.selected && state.selected.kind === 'edge') {
      const e = g.edges.find((x) => x.id === state.selected.id);
      if (e) renderEdgeHeader(e);
      // New requests on the selected edge: list them (their records arrive as connections close).
      const count = e ? e.requests + e.connections : 0;
      if (e && count !== state.selected.count) {
        state.selected.count = count;
        const list = document.getElementById('edge-requests');
        if (list) loadRequests(e, list);
      }
    }
  }

  // ---- side panel -----------------------------------------------------------------------------
  const details = document.getElementById('details');
  function showTab(name) {
    for (const b of document.querySelectorAll('nav button')) b.classList.toggle('on', b.dataset.tab === name);
    for (const t of document.querySelectorAll('.tab')) t.classList.toggle('on', t.id === 'tab-' + name);
    if (name === 'control') loadControl();
  }
  for (const b of document.querySelectorAll('nav button')) b.addEventListener('click', () => showTab(b.dataset.tab));
  function clearSelection() {
    for (const s of svg.querySelectorAll('.selected')) s.classList.remove('selected');
  }

  function renderEdgeHeader(e) {
    const head = document.getElementById('edge-head');
    if (!head) return;
    head.textContent = '';
    head.appendChild(h('h2', { text: short(e.from) + ' → ' + short(e.to) + (e.via ? '  via ' + short(e.via) : '') }));
    if (e.mtls)
      head.appendChild(h('p', { class: 'lock' }, ['mutual TLS (HBONE): ' + (e.sourcePrincipal || 'unknown') + ' → ' + (e.destinationPrincipal || 'unknown')]));
    else head.appendChild(h('p', { text: 'no mTLS: plain TCP, no peer identity (connection_security_policy "unknown")' }));
    const codes = Object.entries(e.codes || {})
      .map(([c, n]) => c + ': ' + n)
      .join(', ');
    head.appendChild(
      h('p', {
        text:
          (e.protocol === 'http' ? rate(e.rps, 'requests/s') : rate(e.cps, 'connections/s')) +
          ', ' +
          bytes(e.bytesPerSec) +
          (codes ? '; last 10 s: ' + codes : '') +
          '; since start ' +
          (e.protocol === 'http' ? e.requests + ' requests' : e.connections + ' connections'),
      }),
    );
  }

  async function selectEdge(e) {
    state.selected = { kind: 'edge', id: e.id, count: e.requests + e.connections };
    clearSelection();
    const g = svg.querySelector(`[data-edge="${CSS.escape(e.id)}"]`);
    if (g) g.classList.add('selected');
    showTab('details');
    details.textContent = '';
    details.appendChild(h('div', { id: 'edge-head' }));
    renderEdgeHeader(e);
    const list = h('div', { id: 'edge-requests' }, [h('p', { text: 'recent requests…' })]);
    details.appendChild(h('button', { text: 'refresh', onclick: () => loadRequests(e, list) }));
    details.appendChild(list);
    document.getElementById('request-detail').textContent = '';
    await loadRequests(e, list);
  }

  async function loadRequests(e, list) {
    try {
      const r = await api('/api/edge?' + new URLSearchParams({ from: e.from, to: e.to, ...(e.via ? { via: e.via } : {}) }));
      list.textContent = '';
      if (!r.requests.length) {
        list.appendChild(h('p', { text: 'No request of this edge among the records kept (a connection is logged when it closes).' }));
        return;
      }
      const rows = r.requests.map((q) =>
        h('tr', { class: 'request', 'data-request': q.id, onclick: () => selectRequest(q.id) }, [
          h('td', { text: q.time.slice(11, 23) }),
          h('td', { text: q.target }),
          h('td', { text: q.status, class: q.status === '403' || q.status.startsWith('reset') ? 'status-denied' : '' }),
          h('td', { text: q.durationMs !== undefined ? q.durationMs.toFixed(1) + ' ms' : '' }),
        ]),
      );
      list.appendChild(
        h('table', {}, [
          h('tr', {}, [h('th', { text: 'time' }), h('th', { text: 'target' }), h('th', { text: 'status' }), h('th', { text: 'took' })]),
          ...rows,
        ]),
      );
    } catch (err) {
      list.textContent = 'could not list requests: ' + err.message;
    }
  }

  async function selectRequest(id) {
    const box = document.getElementById('request-detail');
    box.textContent = 'loading…';
    try {
      const r = await api('/api/request?' + new URLSearchParams({ id }));
      box.textContent = '';
      box.appendChild(h('h3', { text: 'hop by hop: ' + r.row.from + ' → ' + r.row.target + ' (' + r.row.status + ')' }));
      if (r.svg) {
        const img = h('img', { alt: 'sequence diagram of the request', src: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(r.svg) });
        box.appendChild(h('div', { class: 'diagram', 'data-diagram': id }, [img]));
      }
      box.appendChild(h('pre', { class: 'hops', text: r.text }));
    } catch (err) {
      box.textContent = err.message;
    }
  }

  async function selectPod(p) {
    state.selected = { kind: 'pod', id: p.namespace + '/' + p.name };
    clearSelection();
    const g = svg.querySelector(`[data-pod="${CSS.escape(state.selected.id)}"]`);
    if (g) g.classList.add('selected');
    showTab('details');
    details.textContent = '';
    details.appendChild(h('h2', { text: p.name }));
    details.appendChild(
      h('p', {
        text: `${p.namespace}, on ${p.node}, ${p.ip}; ${p.identity}; ${p.inMesh ? 'in the mesh (HBONE)' : 'not in the mesh (plain TCP)'}`,
      }),
    );
    if (p.role !== 'app') details.appendChild(h('button', { text: 'config_dump', onclick: () => selectProxy(p.name, g) }));
    const box = h('div', { id: 'policies' }, [h('p', { text: 'policies…' })]);
    details.appendChild(box);
    try {
      const r = await api('/api/policies?' + new URLSearchParams({ pod: state.selected.id }));
      box.textContent = '';
      box.appendChild(h('h3', { text: 'AuthorizationPolicies that apply' }));
      if (!r.policies.length) box.appendChild(h('p', { text: 'None: every request is allowed (no ALLOW policy applies).' }));
      for (const q of r.policies)
        box.appendChild(
          h('div', { class: 'policy', 'data-policy': q.namespace + '/' + q.name }, [
            h('p', { text: `${q.action} ${q.namespace}/${q.name}: ${q.layer}, enforced by ${q.enforcedBy}${q.service ? ' for ' + q.service : ''}` }),
            h('pre', { text: JSON.stringify(q.spec, null, 2) }),
          ]),
        );
    } catch (err) {
      box.textContent = err.message;
    }
  }

  async function selectProxy(name, g) {
    state.selected = { kind: 'proxy', id: name };
    clearSelection();
    if (g) g.classList.add('selected');
    showTab('details');
    details.textContent = '';
    details.appendChild(h('h2', { text: name + ' /config_dump' }));
    const pre = h('pre', { class: 'config-dump', text: 'loading…' });
    details.appendChild(pre);
    try {
      const r = await api('/api/config_dump?' + new URLSearchParams({ proxy: name }));
      pre.textContent = JSON.stringify(r.dump, null, 2);
    } catch (err) {
      pre.textContent = err.message;
    }
  }

  async function loadControl() {
    const box = document.getElementById('control');
    box.textContent = 'loading…';
    try {
      const r = await api('/api/status');
      box.textContent = '';
      box.appendChild(h('h2', { text: 'What each proxy ACKed (istiod /debug/syncz)' }));
      const rows = [];
      for (const p of r.proxies)
        for (const [type, s] of Object.entries(p.types || {}))
          rows.push(
            h('tr', { 'data-proxy': p.proxy }, [
              h('td', { text: p.proxy.split('~')[2] || p.proxy }),
              h('td', { text: type }),
              h('td', { text: s.status }),
              h('td', { text: s.acked || '' }),
            ]),
          );
      box.appendChild(
        h('table', {}, [
          h('tr', {}, [h('th', { text: 'proxy' }), h('th', { text: 'type' }), h('th', { text: 'status' }), h('th', { text: 'ACKed version' })]),
          ...rows,
        ]),
      );
    } catch (err) {
      box.textContent = err.message;
    }
  }

  document.getElementById('apply').addEventListener('click', async () => {
    const out = document.getElementById('apply-result');
    out.textContent = 'applying…';
    try {
      const res = await fetch('/api/apply', {
        method: 'POST',
        headers: { 'x-hbone-sim-token': TOKEN, 'content-type': 'text/yaml' },
        body: document.getElementById('yaml').value,
      });
      const body = await res.json();
      out.dataset.status = String(res.status);
      if (!res.ok) out.textContent = 'error: ' + body.message;
      else {
        const synced = body.synced ? `\nistiod pushed ${body.version || ''}: ${body.synced.acked} proxies ACKed in ${body.synced.ms.toFixed(0)} ms` : '';
        out.textContent = body.lines.join('\n') + synced;
      }
    } catch (err) {
      out.textContent = 'error: ' + err.message;
    }
  });

  // ---- the stream -----------------------------------------------------------------------------
  function connect() {
    const status = document.getElementById('stream-state');
    const es = new EventSource('/api/events?token=' + encodeURIComponent(TOKEN));
    es.addEventListener('open', () => {
      status.dataset.state = 'live';
      status.textContent = 'live';
    });
    es.addEventListener('topology', (m) => {
      state.topology = JSON.parse(m.data);
      drawTopology();
    });
    es.addEventListener('graph', (m) => {
      state.graph = JSON.parse(m.data);
      status.textContent = 'live, ' + state.graph.at.slice(11, 19);
      drawEdges();
    });
    es.addEventListener('error', () => {
      status.dataset.state = 'lost';
      status.textContent = 'the mesh is gone (or restarting); retrying…';
    });
  }
  // The topology came with the page: draw it before the stream's first event.
  state.topology = JSON.parse(document.getElementById('initial-topology').textContent);
  drawTopology();
  connect();
})();
