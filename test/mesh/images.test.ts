// What a pod runs, from its image: the documented table, registries and tags left out, and an
// unknown image said to run a plain TCP echo.
import t from 'tap';
import { appForImage, imageRepository } from '../../src/mesh/images';

t.test('the table', async (t) => {
  const cases: [string, string, number][] = [
    ['docker.io/istio/examples-bookinfo-productpage-v1:1.20.2', 'productpage', 9080],
    ['istio/examples-bookinfo-reviews-v3:1.20.2', 'reviews', 9080],
    ['examples-bookinfo-details-v1', 'details', 9080],
    ['docker.io/istio/examples-bookinfo-ratings-v1:1.20.2', 'ratings', 9080],
    ['curlimages/curl', 'sleep', 80],
    ['curlimages/curl:8.9.1', 'sleep', 80],
    ['docker.io/curlimages/curl@sha256:0123', 'sleep', 80],
    ['fortio/fortio:latest', 'http-echo', 8080],
    ['docker.io/kennethreitz/httpbin', 'http-echo', 80],
    ['hashicorp/http-echo:1.0', 'http-echo', 5678],
    ['localhost:5000/sleep', 'sleep', 80],
  ];
  for (const [image, kind, port] of cases) {
    const r = appForImage(image);
    t.same([r.app.kind, r.app.port, r.note], [kind, port, undefined], image);
  }
  t.same(appForImage('hashicorp/http-echo', 9999).app, { kind: 'http-echo', port: 9999 }, "the pod's own port wins");
});

t.test('an unknown image runs a plain echo, and says so', async (t) => {
  const r = appForImage('nginx:1.27', 80);
  t.same(r.app, { kind: 'echo', port: 80 });
  t.match(r.note, /image nginx:1\.27 is not in hbone-sim's table: the pod runs a plain TCP echo on port 80/);
  t.equal(imageRepository('registry.example.com:5000/team/app:v2'), 'team/app');
});
