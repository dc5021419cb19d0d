import t from 'tap';
import { matchString, parseCidr, cidrContains, parseIpv4, labelsMatch, CidrError } from '../../../src/policy/authz/match';

t.test('matchString follows Istio wildcards', async (t) => {
  t.ok(matchString('cluster.local/ns/default/sa/sleep', 'cluster.local/ns/default/sa/sleep'), 'exact');
  t.notOk(matchString('cluster.local/ns/default/sa/sleep', 'cluster.local/ns/default/sa/sleepy'), 'exact is exact');
  t.ok(matchString('cluster.local/ns/default/*', 'cluster.local/ns/default/sa/sleep'), 'prefix');
  t.notOk(matchString('cluster.local/ns/default/*', 'cluster.local/ns/other/sa/sleep'), 'prefix miss');
  t.ok(matchString('*/sa/sleep', 'cluster.local/ns/default/sa/sleep'), 'suffix');
  t.notOk(matchString('*/sa/sleep', 'cluster.local/ns/default/sa/details'), 'suffix miss');
  t.ok(matchString('*', 'anything'), '* matches any present value');
  t.notOk(matchString('*', undefined), '* needs a value (no identity, no match)');
  t.notOk(matchString('*', ''), '* needs a non-empty value');
  t.notOk(matchString('abc*', undefined), 'absent never matches');
});

t.test('parseIpv4 is strict', async (t) => {
  t.equal(parseIpv4('10.4.0.5'), 0x0a040005);
  t.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  for (const bad of ['10.4.0', '10.4.0.5.1', '256.0.0.1', '010.4.0.5', '10.4.0.-1', '10.4.0.x', '', ' 10.4.0.5']) {
    t.equal(parseIpv4(bad), undefined, JSON.stringify(bad));
  }
});

t.test('parseCidr accepts CIDRs and plain addresses, refuses the rest with a reason', async (t) => {
  t.match(parseCidr('10.4.0.0/16'), { family: 4, prefixLength: 16, network: 0x0a040000 });
  t.match(parseCidr('10.4.0.5'), { family: 4, prefixLength: 32, network: 0x0a040005 });
  t.match(parseCidr('10.4.0.5/16'), { prefixLength: 16, network: 0x0a040000 }, 'host bits are masked, as netip does');
  t.match(parseCidr('0.0.0.0/0'), { prefixLength: 0, network: 0 });
  t.match(parseCidr('fd00::/8'), { family: 6, prefixLength: 8 });
  const cases: Array<[string, RegExp]> = [
    ['10.0.0.0/33', /prefix length must be 0-32/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/08', /prefix length/],
    ['10.0.0.0/-1', /prefix length/],
    ['256.0.0.0/8', /not a valid IPv4 or IPv6/],
    ['10.0.0/8', /not a valid IPv4 or IPv6/],
    ['fd00::/129', /prefix length must be 0-128/],
    ['not-an-ip', /not a valid IPv4 or IPv6/],
    ['', /not an IP address/],
  ];
  for (const [text, why] of cases) {
    t.throws(() => parseCidr(text), CidrError, text);
    t.throws(() => parseCidr(text), { message: why }, text);
  }
});

t.test('cidrContains', async (t) => {
  t.ok(cidrContains('10.4.0.0/16', '10.4.200.7'));
  t.notOk(cidrContains('10.4.0.0/16', '10.5.0.1'));
  t.ok(cidrContains('10.4.0.5', '10.4.0.5'), 'plain address is a /32');
  t.notOk(cidrContains('10.4.0.5', '10.4.0.6'));
  t.ok(cidrContains('0.0.0.0/0', '192.168.1.1'), '/0 holds everything IPv4');
  t.ok(cidrContains('128.0.0.0/1', '200.1.1.1'), 'high bit handled unsigned');
  t.notOk(cidrContains('128.0.0.0/1', '127.1.1.1'));
  t.ok(cidrContains('10.4.0.0/16', '::ffff:10.4.1.1'), 'IPv4-mapped IPv6 peer address');
  t.ok(cidrContains('fd00::/8', 'fd12::1'));
  t.notOk(cidrContains('fd00::/8', '10.4.0.1'), 'families never mix');
  t.notOk(cidrContains('10.0.0.0/8', 'fd12::1'));
  t.notOk(cidrContains('10.0.0.0/8', undefined));
  t.notOk(cidrContains('10.0.0.0/8', 'garbage'));
});

t.test('labelsMatch', async (t) => {
  t.ok(labelsMatch({ app: 'productpage' }, { app: 'productpage', version: 'v1' }));
  t.notOk(labelsMatch({ app: 'productpage', version: 'v2' }, { app: 'productpage', version: 'v1' }));
  t.notOk(labelsMatch({ app: 'x' }, {}));
  t.ok(labelsMatch({}, { app: 'anything' }), 'empty matchLabels selects everything');
});
