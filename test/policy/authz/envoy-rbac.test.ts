// AuthorizationPolicy → Envoy RBAC filters (src/policy/authz/envoy-rbac.ts), checked without a waypoint.
// How the filters sit in the waypoint's dump is test/waypoint/config-dump.test.ts's business.
import t from 'tap';
import type { AuthorizationPolicyDoc } from '../../../src/mesh/model';
import { compilePolicy } from '../../../src/policy/authz';
import { rbacFilters, rbacPolicy } from '../../../src/policy/authz/envoy-rbac';

const TD = 'cluster.local';

function policy(name: string, spec: Record<string, unknown>, namespace = 'default'): AuthorizationPolicyDoc {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace }, spec, origin: `test:${name}` };
}

t.test('rbacFilters: an ALLOW policy without rules is an ALLOW filter with no policies (deny all)', async (t) => {
  const filters = rbacFilters([compilePolicy(policy('nothing', {}))], TD);
  t.same(filters, [
    {
      name: 'envoy.filters.http.rbac',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
        rules: { policies: {} },
        shadow_rules_stat_prefix: 'istio_dry_run_allow_',
      },
    },
  ]);
  t.same(rbacFilters([], TD), [], 'no policy, no filter');
});

t.test('rbacPolicy: `when` on the caller becomes principals, `when` on the request permissions', async (t) => {
  const rule = compilePolicy(
    policy('when', {
      rules: [
        {
          when: [
            { key: 'source.ip', values: ['10.0.0.0/8'], notValues: ['10.1.0.0/16'] },
            { key: 'source.principal', values: ['*/sa/sleep'] },
            { key: 'destination.ip', values: ['10.4.0.5'] },
            { key: 'destination.port', notValues: ['15000'] },
            { key: 'connection.sni', values: ['*.svc.cluster.local'] },
          ],
        },
      ],
    }),
  ).rules[0];
  const cidr = (address_prefix: string, prefix_len: number) => ({ address_prefix, prefix_len });
  t.same(rbacPolicy(rule, TD), {
    permissions: [
      {
        and_rules: {
          rules: [
            { or_rules: { rules: [{ destination_ip: cidr('10.4.0.5', 32) }] } },
            { not_rule: { or_rules: { rules: [{ destination_port: 15000 }] } } },
            { or_rules: { rules: [{ requested_server_name: { suffix: '.svc.cluster.local' } }] } },
          ],
        },
      },
    ],
    principals: [
      {
        and_ids: {
          ids: [
            // values and notValues of one key: both must hold.
            {
              and_ids: {
                ids: [
                  { or_ids: { ids: [{ direct_remote_ip: cidr('10.0.0.0', 8) }] } },
                  { not_id: { or_ids: { ids: [{ direct_remote_ip: cidr('10.1.0.0', 16) }] } } },
                ],
              },
            },
            { or_ids: { ids: [{ authenticated: { principal_name: { suffix: '/sa/sleep' } } }] } },
          ],
        },
      },
    ],
  });
});

t.test('rbacPolicy: sources name peers by their SPIFFE ID', async (t) => {
  const rule = compilePolicy(
    policy('from', {
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/sleep'], notNamespaces: ['bad-*'], remoteIpBlocks: ['192.168.0.0/16'] } }] }],
    }),
  ).rules[0];
  t.same(rbacPolicy(rule, TD).principals, [
    {
      and_ids: {
        ids: [
          { or_ids: { ids: [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/sleep' } } }] } },
          { not_id: { or_ids: { ids: [{ authenticated: { principal_name: { safe_regex: { regex: '.*/ns/bad-.*/.*' } } } }] } } },
          { or_ids: { ids: [{ remote_ip: { address_prefix: '192.168.0.0', prefix_len: 16 } }] } },
        ],
      },
    },
  ]);
});
