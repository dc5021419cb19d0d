// The arithmetic of the rapid reset rules, without sockets: Envoy's premature-reset decision,
// h2's accept-queue bound, and the penalty a cut-off source serves.
import t from 'tap';
import { ResetGuard, PREMATURE_RESET_TOTAL_STREAM_COUNT, MAX_PENDING_ACCEPT_RESET_STREAMS } from '../../src/hbone/reset-guard';
import { AbusePenalty, PENALTY_BASE_MS, PENALTY_MAX_MS, PENALTY_FORGET_MS, PENALTY_MAX_SOURCES } from '../../src/hbone/abuse-penalty';
import { alertForVerifyError } from '../../src/hbone/tls-alert';

t.test("Envoy's isPrematureRstStream: unanswered, and at most 1 s old in whole seconds", async (t) => {
  const g = new ResetGuard();
  t.ok(g.isPremature(0, false));
  t.ok(g.isPremature(1999, false), '1.999 s is 1 whole second: still premature, as in Envoy');
  t.notOk(g.isPremature(2000, false));
  t.notOk(g.isPremature(10, true), 'an answered stream never is');
});

t.test("Envoy's maybeDrainDueToPrematureResets: half of 500 before 500, half of all after", async (t) => {
  t.equal(PREMATURE_RESET_TOTAL_STREAM_COUNT, 500);
  const early = new ResetGuard();
  for (let i = 0; i < 249; i++) t.equal(early.streamClosed(0, false), undefined);
  t.equal(early.streamClosed(0, false), 'too_many_premature_resets', 'the 250th premature reset trips it, with 250 closed');

  const mixed = new ResetGuard();
  // 251 good, then 249 premature: 500 closed, 498 < 500, no trip; from then on premature*2 >= closed.
  for (let i = 0; i < 251; i++) mixed.streamClosed(0, true);
  for (let i = 0; i < 249; i++) t.equal(mixed.streamClosed(0, false), undefined);
  t.equal(mixed.closed, 500);
  t.equal(mixed.streamClosed(0, false), undefined, '250 premature of 501 closed is under half');
  t.equal(mixed.streamClosed(0, false), 'too_many_premature_resets', '251 of 502 is half: it trips');
});

t.test("h2's accept queue: a 21st reset stream waiting to be accepted is a connection error", async (t) => {
  t.equal(MAX_PENDING_ACCEPT_RESET_STREAMS, 20);
  const g = new ResetGuard();
  for (let i = 0; i < 20; i++) t.equal(g.resetWhilePending(), undefined);
  t.equal(g.resetWhilePending(), 'too_many_resets');
  const drained = new ResetGuard();
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 20; i++) t.equal(drained.resetWhilePending(), undefined);
    drained.acceptQueueDrained();
  }
  t.pass('20 per turn of the event loop, turn after turn, is tolerated: the queue is drained each time');
});

t.test('the penalty doubles per offence, caps, is forgotten, and remembers a bounded number of sources', async (t) => {
  const p = new AbusePenalty();
  const t0 = 1_000_000;
  t.equal(p.strike('10.0.0.1', t0), PENALTY_BASE_MS);
  t.ok(p.refuses('10.0.0.1', t0 + PENALTY_BASE_MS - 1));
  t.notOk(p.refuses('10.0.0.1', t0 + PENALTY_BASE_MS), 'served');
  t.notOk(p.refuses('10.0.0.2', t0), 'another source is not refused');
  t.equal(p.strike('10.0.0.1', t0 + 2000), 2 * PENALTY_BASE_MS, 'a second offence: twice as long');
  let ms = 0;
  for (let i = 0; i < 10; i++) ms = p.strike('10.0.0.1', t0 + 3000 + i);
  t.equal(ms, PENALTY_MAX_MS, 'capped');
  const later = t0 + 3000 + 9 + PENALTY_MAX_MS + PENALTY_FORGET_MS;
  t.notOk(p.refuses('10.0.0.1', later));
  t.equal(p.strike('10.0.0.1', later), PENALTY_BASE_MS, 'forgiven after a quiet spell: back to the first penalty');
  t.notOk(p.refuses(undefined), 'a socket without an address is not refused');
  for (let i = 0; i < PENALTY_MAX_SOURCES + 10; i++) p.strike(`10.1.${i >> 8}.${i & 255}`, later);
  t.equal(p.size, PENALTY_MAX_SOURCES, 'bounded');
});

t.test("OpenSSL's verify errors map to the alerts rustls sends", async (t) => {
  t.equal(alertForVerifyError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), 'unknown_ca');
  t.equal(alertForVerifyError('SELF_SIGNED_CERT_IN_CHAIN'), 'unknown_ca');
  t.equal(alertForVerifyError('CERT_HAS_EXPIRED'), 'certificate_expired');
  t.equal(alertForVerifyError('CERT_NOT_YET_VALID'), 'certificate_expired');
  t.equal(alertForVerifyError('UNSPECIFIED', 'unhandled critical extension'), 'bad_certificate');
  t.equal(alertForVerifyError('CERT_REVOKED'), 'certificate_revoked');
  t.equal(alertForVerifyError('CERT_SIGNATURE_FAILURE'), 'decrypt_error');
  t.equal(alertForVerifyError('INVALID_PURPOSE'), 'unsupported_certificate');
  t.equal(alertForVerifyError('SOMETHING_NEW'), 'certificate_unknown', 'anything else: certificate_unknown');
});
