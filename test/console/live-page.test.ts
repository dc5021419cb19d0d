// The live page in a real browser: Debian's chromium, driven by playwright-core, against a held
// bookinfo (the bundled bookinfo-ambient on 10.120, plus a port capture for load) with its
// waypoint. What is drawn is asserted through the page's data attributes, never pixels; the
// screenshots go to test-artifacts/live-page/ (ignored by git) for a person to look at.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import autocannon from 'autocannon';
import { REPO, runCli, simWith, tempScenario, CliRun, TempScenario } from '../runner/fixtures/cli';

/** The page's document, as the functions run in it see it (the tests compile without the DOM's types). */
interface PageElement {
  getAttribute(name: string): string | null;
  readonly textContent: string | null;
}
declare const document: { querySelector(selector: string): PageElement | null };

const N = 120;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO, 'test-artifacts', 'live-page');
const CAPTURE = { host: `127.${N}.0.100`, port: 9080 };
const UP_MS = 30_000;
const STEP_MS = 15_000;

/** bookinfo-ambient moved to block 10.<n>: nodes 10.n.0.x, pods 10.n.<x>.y, VIPs 10.n.1<x>.y; plus a capture to details for load. */
export function bookinfoOn(n: number, name: string): string {
  const yaml = fs
    .readFileSync(path.join(REPO, 'scenarios', 'bookinfo-ambient.yaml'), 'utf8')
    .replace(/^name: .*$/m, `name: ${name}`)
    .replace(/10\.1\.0\./g, `10.${n}.0.`)
    .replace(/10\.4\.(\d+)\./g, `10.${n}.$1.`)
    .replace(/10\.8\.(\d+)\./g, `10.${n}.1$1.`);
  return `${yaml}\ncaptures:\n  - { listen: ${CAPTURE.host}:${CAPTURE.port}, source: curl-5b549b49b8-mh6r2, target: details:9080 }\n`;
}

if (!fs.existsSync(CHROMIUM) && process.env.HBONE_SIM_CI) {
  t.fail(`no chromium at ${CHROMIUM}: .ci/run installs Debian's chromium for this test`);
} else if (!fs.existsSync(CHROMIUM)) {
  t.test('the live page in chromium', { skip: `no chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)` }, async () => undefined);
} else {
  let temp: TempScenario;
  let up: CliRun;
  let browser: Browser;
  let page: Page;
  let url = '';
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-live-page-home-'));
  const sim = simWith({ HBONE_SIM_HOME: home });
  const problems: string[] = [];

  t.before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    temp = tempScenario(bookinfoOn(N, 'live-page'), 'live-page');
    up = runCli(['up', temp.file, '--ca-dir', temp.caDir, '--page-port', '0'], { env: { HBONE_SIM_HOME: home } });
    await up.waitForOutput(/live page: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/, UP_MS);
    url = /live page: (\S+)/.exec(up.stdout())![1];
    const wp = sim('waypoint', 'apply', '--enroll-namespace', '--wait');
    if (wp.code !== 0) throw new Error(`waypoint apply: ${wp.out}${wp.err}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });

  t.teardown(async () => {
    await browser?.close();
    if (up && up.child.exitCode === null) {
      process.kill(-up.pid, 'SIGINT');
      await up.waitExit(20_000).catch(() => undefined);
    }
    await temp?.cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const edge = (from: string, to: string) => `[data-edge][data-from="default/${from}"][data-to="default/${to}"]`;
  const attr = async (sel: string, name: string): Promise<string | null> => (await page.$(sel))?.getAttribute(name) ?? null;
  const curl = (...args: string[]) => sim('exec', 'deploy/curl', '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', ...args);

  t.test('the page loads, paints the cluster and goes live with no console error', async (t) => {
    const started = Date.now();
    await page.goto(url);
    await page.waitForSelector('#stream-state[data-state="live"]', { timeout: STEP_MS });
    const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1);
    t.ok(paint > 0, `first contentful paint at ${paint.toFixed(0)} ms (page loaded and live in ${Date.now() - started} ms)`);
    await shot('1-loaded');
    t.same(problems, [], 'no console error');
  });

  t.test('every node, pod, ztunnel and waypoint of bookinfo is drawn', async (t) => {
    const pods = sim('get', 'pods')
      .out.trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[0]);
    t.equal(pods.length, 8, `7 pods and the waypoint: ${pods.join(', ')}`);
    for (const n of ['node-a', 'node-b', 'node-c']) {
      t.equal((await page.$$(`[data-node="${n}"]`)).length, 1, `node ${n}`);
      t.equal((await page.$$(`[data-node="${n}"] [data-ztunnel="ztunnel-${n}"]`)).length, 1, `ztunnel-${n} inside its node`);
    }
    await page.waitForSelector('[data-role="waypoint"]', { state: 'attached', timeout: STEP_MS });
    for (const p of pods) t.equal((await page.$$(`[data-pod="default/${p}"]`)).length, 1, `pod ${p}`);
    t.equal(await attr('[data-role="waypoint"]', 'data-in-mesh'), 'true', 'the waypoint is drawn as a waypoint');
    t.equal((await page.$$('[data-service]')).length, 7, 'the 7 services with their VIPs');
  });

  t.test('a request made with hbone-sim exec raises its edge count', async (t) => {
    const sel = edge('curl', 'productpage-v1');
    const before = Number((await attr(sel, 'data-requests')) ?? 0);
    t.equal(curl('http://productpage:9080/productpage').out, '200');
    await page.waitForFunction(([s, b]) => Number(document.querySelector(s)?.getAttribute('data-requests') ?? 0) > b, [sel, before] as const, {
      timeout: STEP_MS,
    });
    t.equal(await attr(sel, 'data-via'), 'default/waypoint', 'drawn through the waypoint');
    t.equal(await attr(sel, 'data-state'), 'ok');
  });

  t.test('clicking the edge, then a request, shows the four waypoint stages and the RBAC decision', async (t) => {
    await page.locator(edge('curl', 'productpage-v1')).dispatchEvent('click');
    await page.waitForSelector('tr.request', { timeout: STEP_MS });
    await page.locator('tr.request').first().dispatchEvent('click');
    await page.waitForSelector('#request-detail pre.hops', { timeout: STEP_MS });
    const hops = await page.locator('#request-detail pre.hops').textContent();
    for (const stage of [
      'inbound_CONNECT_terminate',
      'inbound-vip|9080|http|productpage.default.svc.cluster.local',
      'inbound-pod|9080||',
      'inbound_CONNECT_originate',
    ])
      t.match(hops, stage, `stage ${stage}`);
    t.match(hops, /RBAC allowed/, 'the RBAC decision');
    t.match(
      await page.locator('#details').textContent(),
      /spiffe:\/\/cluster\.local\/ns\/default\/sa\/curl → spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-productpage/,
    );
    t.ok(await page.$('#request-detail .diagram img'), 'the sequence diagram');
    await shot('2-request');
  });

  t.test("productpage's calls through the waypoint are listed while its pooled connection stays open", async (t) => {
    // productpage keeps its connection to details open: ztunnel has not logged it; the waypoint
    // traced every request on it.
    const sel = edge('productpage-v1', 'details-v1');
    await page.waitForSelector(sel, { state: 'attached', timeout: STEP_MS });
    await page.locator(sel).dispatchEvent('click');
    await page.waitForSelector('tr.request', { timeout: STEP_MS });
    await page.locator('tr.request').first().dispatchEvent('click');
    await page.waitForSelector('#request-detail pre.hops', { timeout: STEP_MS });
    const hops = await page.locator('#request-detail pre.hops').textContent();
    t.match(hops, /productpage-v1-\S+ → details\.default\.svc\.cluster\.local/);
    t.match(hops, /inbound-vip\|9080\|http\|details\.default\.svc\.cluster\.local {2}GET \/details\/0/);
    t.ok(await page.$('#request-detail .diagram img'), 'drawn too');
  });

  t.test('a DENY applied from the page turns the next request red with a 403', async (t) => {
    await page.locator('nav button[data-tab="apply"]').click();
    await page.fill(
      '#yaml',
      [
        'apiVersion: security.istio.io/v1',
        'kind: AuthorizationPolicy',
        'metadata: { name: productpage-no-delete, namespace: default }',
        'spec:',
        '  targetRefs: [ { kind: Service, group: "", name: productpage } ]',
        '  action: DENY',
        '  rules: [ { to: [ { operation: { methods: [ DELETE ] } } ] } ]',
      ].join('\n'),
    );
    await page.click('#apply');
    await page.waitForFunction(() => /created|error/.test(document.querySelector('#apply-result')?.textContent ?? ''), undefined, { timeout: STEP_MS });
    t.match(await page.locator('#apply-result').textContent(), /authorizationpolicy\.security\.istio\.io\/productpage-no-delete created/);
    t.equal(curl('-X', 'DELETE', 'http://productpage:9080/productpage').out, '403');
    const sel = edge('curl', 'productpage-v1');
    await page.waitForSelector(`${sel}[data-state="denied"]`, { state: 'attached', timeout: STEP_MS });
    await page.locator(sel).dispatchEvent('click');
    await page.waitForSelector('tr.request td.status-denied', { timeout: STEP_MS });
    await page.locator('tr.request').first().dispatchEvent('click');
    await page.waitForFunction(() => /RBAC denied/.test(document.querySelector('#request-detail pre.hops')?.textContent ?? ''), undefined, {
      timeout: STEP_MS,
    });
    t.match(
      await page.locator('#request-detail pre.hops').textContent(),
      /ns\[default\]-policy\[productpage-no-delete\]-rule\[0\]/,
      'the RBAC rule that denied it',
    );
    await page.locator('[data-role="waypoint"]').first().dispatchEvent('click');
    await page.locator('[data-pod^="default/productpage-v1"]').dispatchEvent('click');
    await page.waitForSelector('[data-policy="default/productpage-no-delete"]', { timeout: STEP_MS });
    t.match(
      await page.locator('[data-policy="default/productpage-no-delete"]').textContent(),
      /DENY default\/productpage-no-delete: L7, enforced by waypoint-/,
    );
    await shot('3-denied');
  });

  t.test('istiod: the version every proxy ACKed', async (t) => {
    await page.locator('nav button[data-tab="control"]').click();
    await page.waitForSelector('#control tr[data-proxy]', { timeout: STEP_MS });
    const rows = await page.locator('#control tr[data-proxy]').allTextContents();
    t.ok(
      rows.some((r) => /ztunnel-node-a/.test(r) && /SYNCED/.test(r)),
      'ztunnel-node-a synced',
    );
    t.ok(
      rows.some((r) => /waypoint-/.test(r)),
      'the waypoint is listed',
    );
  });

  t.test('the page keeps working while autocannon loads the mesh', async (t) => {
    const stamps = new Set<string>();
    const watch = setInterval(
      () =>
        void page
          .locator('#stream-state')
          .textContent()
          .then((s) => s && stamps.add(s)),
      250,
    );
    const load = await new Promise<{ requests: { total: number }; non2xx: number }>((resolve, reject) =>
      autocannon({ url: `http://${CAPTURE.host}:${CAPTURE.port}/details/0`, connections: 4, duration: 5 }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    clearInterval(watch);
    await new Promise((r) => setTimeout(r, 2000));
    t.ok(load.requests.total > 100, `${load.requests.total} requests in 5 s`);
    t.equal(load.non2xx, 0, 'all answered 2xx');
    t.ok(stamps.size >= 3, `the graph kept updating under load: ${[...stamps].join(' | ')}`);
    const rps = Number(await attr(edge('curl', 'details-v1'), 'data-requests'));
    t.ok(rps >= load.requests.total, `the curl → details edge counted them all: ${rps} ≥ ${load.requests.total}`);
    await shot('4-under-load');
    t.same(problems, [], 'still no console error');
  });

  t.test('Ctrl-C takes the page down with the mesh: no listener left on its port', async (t) => {
    await browser.close();
    const port = Number(new URL(url).port);
    process.kill(-up.pid, 'SIGINT');
    const exit = await up.waitExit(20_000);
    t.equal(exit.code, 130);
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve('connected');
      });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    t.equal(refused, 'ECONNREFUSED', `nothing listens on ${port}`);
  });
}
