import { loadScenario } from '../src/mesh/load';
for (const n of ['bookinfo', 'echo', 'nope', 'scenarios/echo.yaml']) {
  try { const s = loadScenario(n); console.log(s.name, s.file, s.workloads.length, JSON.stringify(s.expect), JSON.stringify(s.policies[0] ?? null).slice(0, 300), s.workloads.map(w => w.workloadName).join(',')); } catch (e) { console.log(String((e as Error).message)); }
}
