// How big a scenario may be, in one place. A scenario file is read by the runner, which hands
// its parse to every process it starts (src/mesh/parsed-scenario.ts; a process started alone
// parses the file itself), and a mesh that cannot start within the runner's readiness timeout
// (10 s) is better refused up front than left to time out.
//
// How the caps were chosen (2 cores, 24 GB, Node.js 20; December 2026, other engineers' tests
// loading the machine to a load average of 12-20; http-echo pods spread over the nodes, ten to
// a Service and its service account, as bench/pods-scenario.ts writes them; `npm run bench --
// --suite pods` and `hbone-sim scenario`). Pods live in node agents (one process per node), a
// node is two processes (its ztunnel and its node agent), and what binds is start-up CPU: each
// process parsing the scenario (before it was parsed once), ztunnel's certificates (one per
// identity on its node) and each pod's TLS listener, istiod signing. Over 3 nodes (8 processes
// with the runner) 1,000 pods were ready in 3.7-4.0 s (every Service answering at 4.7-5.1 s,
// 822-825 MB of RSS in all; 6.6 s once at a load of 14), 1,500 in 7.2 s, 2,000 in 5.4-8.5 s
// (974 MB). Over 8 nodes (17 processes) 500 were ready in 6.3 s, 750 in 8.7 s, 1,000 in
// 7.1-9.6 s and once not within the timeout (at a load of 15-20), 1,500 in 10.1 s (more nodes,
// more certificates: each Service's pods span every node).
// So at most 8 nodes, as before, and 1,000 pods: the pods bench's mark, in time over 3 nodes
// and at the edge over 8 on a loaded machine. `--pod-processes` still gives each pod a process
// of its own, so it keeps the cap measured for that model (MAX_POD_PROCESSES).
// Raise MAX_WORKLOADS when ztunnel shares its TLS contexts and istiod signs more cheaply.

/**
 * Bytes in a scenario file. bookinfo.yaml is 10 KiB; 1,000 pods and 256 services, one line
 * each, take ~180 KiB, more with longer names and labels (MAX_YAML_NODES bounds the parse).
 */
export const MAX_SCENARIO_BYTES = 512 * 1024;

/** Nodes (each one a ztunnel process and a node agent process). */
export const MAX_NODES = 8;

/** Pods, waypoints included (a node agent hosts the pods, a waypoint is a process). */
export const MAX_WORKLOADS = 1000;

/**
 * Pods under `scenario --pod-processes`, where each pod is a process of its own (~0.3 s of CPU
 * to start, 70-80 MB of RSS): 56 pods and 8 nodes (64 processes) were ready in 11.0 s, twice,
 * and 80 processes missed the readiness timeout.
 */
export const MAX_POD_PROCESSES = 56;

/**
 * Waypoints a running mesh deploys for applied Gateways: each is a process of its own (about
 * 100-150 MB of RSS under load, see bench/REPORT.md), so 16 of them are about 2 GB.
 */
export const MAX_WAYPOINTS = 16;

/** Manifest files a scenario may include (`manifests:`); each is bounded as a scenario file is. */
export const MAX_MANIFEST_FILES = 16;

/** Services (no process of their own; bounds the cost of resolution and of the checks). */
export const MAX_SERVICES = 256;

/**
 * YAML nodes (keys, values, list items), aliases expanded. Parsing costs about 1 KB of
 * memory per node (a 1 MiB flow list of 500,000 numbers took 550 MB); a scenario at the
 * caps above, one line per object, holds ~27,000.
 */
export const MAX_YAML_NODES = 50_000;

/**
 * Nesting of YAML collections. The yaml library composes recursively and runs out of stack
 * near 1,000 levels; a scenario nests about 10 (policies[].spec.rules[].from[].source...).
 */
export const MAX_YAML_DEPTH = 64;
