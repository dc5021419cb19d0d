// The SOCKS5 client and MeshAgent against a tiny SOCKS5 server (addresses 127.40.1.x).
import t from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import { socks5Connect, MeshAgent, Socks5Error, replyMeaning } from '../../src/apps/socks5';
import { socksServer, SocksRoute } from './fixtures/socks-server';

const PROXY_IP = '127.40.1.1';
const ECHO_IP = '127.40.1.2';
const HTTP_IP = '127.40.1.3';
const CLIENT_IP = '127.40.1.9';

function readAll(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (data += c));
    s.once('end', () => resolve(data));
    s.once('error', reject);
  });
}

t.test('socks5Connect', async (t) => {
  const echo = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, ECHO_IP, r));
  const echoPort = (echo.address() as net.AddressInfo).port;
  const routes: Record<string, SocksRoute> = {
    'echo.default.svc.cluster.local': { forward: { host: ECHO_IP, port: echoPort } },
    [ECHO_IP]: { forward: { host: ECHO_IP, port: echoPort } },
    denied: { reply: 0x02 },
    refused: { reply: 0x05 },
    odd: { reply: 0x2a },
    silent: { closeBeforeReply: true },
    banner: { banner: 'SSH-2.0-hello\r\n' },
    slow: { hang: true },
  };
  const proxy = await socksServer(PROXY_IP, 0, (host) => routes[host]);
  t.teardown(async () => {
    await proxy.close();
    await new Promise((r) => echo.close(r));
  });
  const endpoint = { host: PROXY_IP, port: proxy.port };

  t.test('IPv4 target: address type 0x01, bytes both ways, half-close kept', async (t) => {
    const s = await socks5Connect({ proxy: endpoint, target: { host: ECHO_IP, port: echoPort }, localAddress: CLIENT_IP, allowHalfOpen: true });
    t.ok(s instanceof net.Socket, 'a real net.Socket');
    const reply = readAll(s);
    s.end('over ipv4');
    t.equal(await reply, 'over ipv4');
    const seen = proxy.seen.at(-1)!;
    t.same({ atyp: seen.atyp, host: seen.host, port: seen.port, from: seen.from }, { atyp: 0x01, host: ECHO_IP, port: echoPort, from: CLIENT_IP });
  });

  t.test('domain target: address type 0x03 with the name as given', async (t) => {
    const s = await socks5Connect({ proxy: endpoint, target: { host: 'echo.default.svc.cluster.local', port: 7 } });
    const reply = readAll(s);
    s.end('by name');
    t.equal(await reply, 'by name');
    const seen = proxy.seen.at(-1)!;
    t.equal(seen.atyp, 0x03);
    t.equal(seen.host, 'echo.default.svc.cluster.local');
    t.equal(seen.port, 7);
  });

  t.test('failure replies name the RFC meaning', async (t) => {
    const denied = await socks5Connect({ proxy: endpoint, target: { host: 'denied', port: 80 } }).catch((e: Socks5Error) => e);
    t.type(denied, Socks5Error);
    t.equal((denied as Socks5Error).reply, 0x02);
    t.equal((denied as Socks5Error).code, 'ESOCKS5');
    t.match((denied as Error).message, /0x02 connection not allowed by ruleset/);

    const refused = (await socks5Connect({ proxy: endpoint, target: { host: 'refused', port: 80 } }).catch((e) => e)) as Socks5Error;
    t.equal(refused.reply, 0x05);
    t.equal(refused.code, 'ECONNREFUSED');
    t.match(refused.message, /0x05 connection refused/);

    const unknown = (await socks5Connect({ proxy: endpoint, target: { host: 'nowhere', port: 80 } }).catch((e) => e)) as Socks5Error;
    t.equal(unknown.code, 'EHOSTUNREACH');
    t.match(unknown.message, /host unreachable/);

    const odd = (await socks5Connect({ proxy: endpoint, target: { host: 'odd', port: 80 } }).catch((e) => e)) as Socks5Error;
    t.match(odd.message, /0x2a unassigned reply code/);
    t.equal(replyMeaning(0x01), 'general SOCKS server failure');
  });

  t.test('proxy hangs up before answering: ECONNRESET', async (t) => {
    const err = (await socks5Connect({ proxy: endpoint, target: { host: 'silent', port: 80 } }).catch((e) => e)) as Socks5Error;
    t.equal(err.code, 'ECONNRESET');
    t.match(err.message, /closed the connection before answering/);
  });

  t.test('bytes after the reply in the same segment stay readable', async (t) => {
    const s = await socks5Connect({ proxy: endpoint, target: { host: 'banner', port: 22 } });
    t.equal(await readAll(s), 'SSH-2.0-hello\r\n');
  });

  t.test('no answer: ETIMEDOUT after timeoutMs', async (t) => {
    const err = (await socks5Connect({ proxy: endpoint, target: { host: 'slow', port: 80 }, timeoutMs: 200 }).catch((e) => e)) as Socks5Error;
    t.equal(err.code, 'ETIMEDOUT');
  });

  t.test('proxy not listening: the connect error', async (t) => {
    const err = (await socks5Connect({ proxy: { host: PROXY_IP, port: 1 }, target: { host: 'x', port: 1 } }).catch((e) => e)) as NodeJS.ErrnoException;
    t.equal(err.code, 'ECONNREFUSED');
  });

  t.test('IPv6 and bad ports are refused before dialling', async (t) => {
    await t.rejects(socks5Connect({ proxy: endpoint, target: { host: '::1', port: 80 } }), /IPv6/);
    await t.rejects(socks5Connect({ proxy: endpoint, target: { host: 'x', port: 70000 } }), /invalid target port/);
  });
});

t.test('MeshAgent: HTTP through SOCKS5 with keep-alive', async (t) => {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    sockets.add(req.socket);
    res.end(`${req.headers.host} ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, HTTP_IP, r));
  const port = (server.address() as net.AddressInfo).port;
  const proxy = await socksServer(PROXY_IP, 0, (host) => (host === 'details' ? { forward: { host: HTTP_IP, port } } : { reply: 0x02 }));
  const agent = new MeshAgent({ proxy: { host: PROXY_IP, port: proxy.port } });
  t.teardown(async () => {
    agent.destroy();
    await proxy.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const get = (url: string): Promise<string> =>
    new Promise((resolve, reject) => {
      http
        .get(url, { agent }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });

  t.equal(await get('http://details:9080/details/0'), 'details:9080 /details/0');
  t.equal(await get('http://details:9080/details/1'), 'details:9080 /details/1');
  t.equal(sockets.size, 1, 'both requests on one kept-alive connection');
  t.equal(proxy.connections, 1, 'one SOCKS5 tunnel');
  t.equal(proxy.seen[0].host, 'details');
  t.equal(proxy.seen[0].port, 9080);

  const err = (await get('http://ratings:9080/').catch((e) => e)) as Socks5Error;
  t.match(err.message, /connection not allowed by ruleset/, 'a refusal reaches the request as its error');
});
