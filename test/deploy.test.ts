/**
 * The shipped deploy files (deploy/, Dockerfile) checked against the server they run: every
 * GYM_TCP_* variable they set is an option of the table and its value one the option accepts; the
 * probes and health checks ask the paths the server serves on the port the files give it; the grace
 * periods outlast the drain; HAProxy's servers are the nodes the files start.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { SERVE_OPTIONS, type ServeOption } from '../src/config/options.js';
import { NODE_ID, nodeIdFromHostname } from '../src/protocol/instance-id.js';

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
const byEnv = new Map<string, ServeOption>(Object.values(SERVE_OPTIONS).map((o: ServeOption) => [o.env, o]));

/** Checks each GYM_TCP_* variable against the option table and returns the values as the server reads them. */
function serverSettings(env: Record<string, string>): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('GYM_TCP_')) continue;
    const option = byEnv.get(name);
    expect(option, `${name} is no option of gym-tcp serve`).toBeDefined();
    const parsed = option!.value.safeParse(text);
    expect(parsed.success, `${name}=${text}: ${parsed.error?.message}`).toBe(true);
    settings[name] = parsed.data;
  }
  return settings;
}

const defaultOf = (name: keyof typeof SERVE_OPTIONS) => (SERVE_OPTIONS[name] as ServeOption).default;

/** An HAProxy configuration's backends: name -> lines. */
function backendsOf(cfg: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const block of cfg.split(/\n(?=\S)/)) {
    const [head, ...lines] = block.split('\n').map((l) => l.trim());
    const m = /^backend (\S+)/.exec(head);
    if (m) found.set(m[1], lines.filter((l) => l && !l.startsWith('#')));
  }
  return found;
}
/** `server NAME HOST:PORT check port P` lines of a backend. */
const serversOf = (found: Map<string, string[]>, backend: string) =>
  found.get(backend)!.flatMap((l) => {
    const m = /^server (\S+) ([^:\s]+):(\d+) check port (\d+)/.exec(l);
    return m ? [{ name: m[1], host: m[2], port: Number(m[3]), checkPort: Number(m[4]) }] : [];
  });

const haproxy = read('deploy/haproxy/haproxy.cfg');
const backends = backendsOf(haproxy);
const servers = (backend: string) => serversOf(backends, backend);
const HAPROXY = '/usr/sbin/haproxy';

describe('deploy/compose.yaml with deploy/haproxy/haproxy.cfg', () => {
  const compose = parse(read('deploy/compose.yaml'), { merge: true }) as { services: Record<string, Record<string, any>> };
  const gymServices = Object.entries(compose.services).filter(([, s]) => s.build);

  it('starts three servers with valid settings, node ids HAProxy routes to, health on the port it checks', () => {
    expect(gymServices).toHaveLength(3);
    for (const [name, service] of gymServices) {
      const settings = serverSettings(service.environment);
      expect(settings.GYM_TCP_NODE_ID).toBe(name);
      expect(name).toMatch(NODE_ID);
      const tcp = (settings.GYM_TCP_PORT ?? defaultOf('port')) as number;
      for (const backend of ['be_tcp', 'be_rest', `be_${name}`]) {
        const server = servers(backend).find((s) => s.name === name);
        expect(server, `${backend} has no server ${name}`).toBeDefined();
        expect(server!.host).toBe(name);
        expect(server!.port).toBe(backend === 'be_tcp' ? tcp : settings.GYM_TCP_HTTP_PORT);
        expect(server!.checkPort).toBe(settings.GYM_TCP_HEALTH_PORT);
      }
      // Docker's SIGKILL comes after the drain delay and the drain.
      const grace = Number(/^(\d+)s$/.exec(service.stop_grace_period)![1]);
      expect(grace).toBeGreaterThan((settings.GYM_TCP_DRAIN_DELAY as number) + ((settings.GYM_TCP_DRAIN_TIMEOUT ?? defaultOf('drainTimeout')) as number) / 1000);
    }
    expect(servers('be_tcp').map((s) => s.name).sort()).toEqual(gymServices.map(([n]) => n).sort());
    expect(compose.services.haproxy.volumes).toContain('./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
  });

  it('checks /readyz for new clients and /healthz for the envs a node holds, routes REST by the id\'s node', () => {
    for (const b of ['be_tcp', 'be_rest']) expect(backends.get(b)).toContain('option httpchk GET /readyz');
    for (const [name] of gymServices) expect(backends.get(`be_${name}`)).toContain('option httpchk GET /healthz');
    expect(backends.get('be_tcp')).toContain('mode tcp');
    expect(backends.get('be_tcp')).toContain('balance leastconn');
    expect(haproxy).toContain('http-request set-var(req.node) path,field(4,/),field(1,-)');
    expect(haproxy).toContain('use_backend be_%[var(req.node)]');
  });

  it('passes `docker compose config` (or docker-compose\'s) where Compose is installed', (ctx) => {
    const run = (command: string[]) => execFileSync(command[0], command.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const compose = [['docker', 'compose'], ['docker-compose']].find((command) => {
      try {
        run([...command, 'version']);
        return true;
      } catch {
        return false;
      }
    });
    if (!compose) {
      console.warn('neither `docker compose` nor docker-compose is installed here: the Compose check is not run');
      return ctx.skip();
    }
    run([...compose, '-f', 'deploy/compose.yaml', 'config', '--quiet']);
  });
});

describe('deploy/k8s', () => {
  const docs = parseAllDocuments(read('deploy/k8s/gym-tcp.yaml')).map((d) => d.toJS() as Record<string, any>);
  const set = docs.find((d) => d.kind === 'StatefulSet')!;
  const pod = set.spec.template.spec;
  const container = pod.containers[0];
  const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  const settings = serverSettings(env);
  const portOf = (name: string) => container.ports.find((p: { name: string }) => p.name === name).containerPort;

  it('probes /readyz and /healthz on the health port the server is given; container ports are the server\'s', () => {
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    for (const probe of [container.readinessProbe, container.livenessProbe]) expect(portOf(probe.httpGet.port)).toBe(settings.GYM_TCP_HEALTH_PORT);
    expect(portOf('gym-tcp')).toBe(settings.GYM_TCP_PORT ?? defaultOf('port'));
    expect(portOf('rest')).toBe(settings.GYM_TCP_HTTP_PORT);
    expect(container.args).toEqual(['serve', '--host', '0.0.0.0']);
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
  });

  it('gives a terminating pod time for preStop, the drain delay and the drain', () => {
    const preStop = container.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe('sleep');
    const drain = Number(preStop[1]) + (settings.GYM_TCP_DRAIN_DELAY as number) + ((settings.GYM_TCP_DRAIN_TIMEOUT ?? defaultOf('drainTimeout')) as number) / 1000;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drain);
  });

  it('has Services whose target ports the pods have, a headless one for each pod by name, and a PodDisruptionBudget', () => {
    const labels = set.spec.template.metadata.labels;
    const services = docs.filter((d) => d.kind === 'Service');
    expect(services.length).toBeGreaterThanOrEqual(2);
    for (const service of services) {
      expect(service.spec.selector).toEqual(labels);
      for (const port of service.spec.ports) expect(portOf(port.targetPort), `${service.metadata.name}: ${port.targetPort}`).toBe(port.port);
    }
    const headless = services.find((s) => s.spec.clusterIP === 'None')!;
    expect(set.spec.serviceName).toBe(headless.metadata.name);
    const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget')!;
    expect(pdb.spec.selector.matchLabels).toEqual(labels);
    // The default node id of pod gym-tcp-1 (its host name) is a valid, distinct node id.
    expect(SERVE_OPTIONS.nodeId.value.safeParse('gymtcp1').success).toBe(true);
  });
});

describe('deploy/k8s/haproxy.yaml', () => {
  const gym = parseAllDocuments(read('deploy/k8s/gym-tcp.yaml')).map((d) => d.toJS() as Record<string, any>);
  const set = gym.find((d) => d.kind === 'StatefulSet')!;
  const container = set.spec.template.spec.containers[0];
  const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  const settings = serverSettings(env);
  const headless = gym.find((d) => d.kind === 'Service' && d.spec.clusterIP === 'None')!;
  const docs = parseAllDocuments(read('deploy/k8s/haproxy.yaml')).map((d) => d.toJS() as Record<string, any>);
  const cfg = docs.find((d) => d.kind === 'ConfigMap')!.data['haproxy.cfg'] as string;
  const found = backendsOf(cfg);

  it('routes REST by node to each pod of the StatefulSet by its stable name, with the node id the pod takes from its host name', () => {
    const pods = Array.from({ length: set.spec.replicas }, (_, i) => `${set.metadata.name}-${i}`);
    const tcpPort = (settings.GYM_TCP_PORT ?? defaultOf('port')) as number;
    for (const [i, pod] of pods.entries()) {
      const node = nodeIdFromHostname(pod);
      expect(node).toMatch(NODE_ID);
      const host = `${pod}.${headless.metadata.name}.default.svc.cluster.local`;
      for (const backend of ['be_tcp', 'be_rest', `be_${node}`]) {
        const server = serversOf(found, backend).find((s) => s.name === node);
        expect(server, `${backend} has no server ${node} (pod ${i})`).toEqual({
          name: node,
          host,
          port: backend === 'be_tcp' ? tcpPort : settings.GYM_TCP_HTTP_PORT,
          checkPort: settings.GYM_TCP_HEALTH_PORT,
        });
      }
      expect(found.get(`be_${node}`)).toContain('option httpchk GET /healthz');
    }
    for (const backend of ['be_tcp', 'be_rest']) {
      expect(serversOf(found, backend)).toHaveLength(pods.length);
      expect(found.get(backend)).toContain('option httpchk GET /readyz');
    }
    expect(cfg).toContain('http-request set-var(req.node) path,field(4,/),field(1,-)');
    expect(cfg).toContain('use_backend be_%[var(req.node)]');
    // The headless Service lists pods before they are ready, so that their names resolve while they start.
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
  });

  it('mounts the configuration where the haproxy image reads it; its Service reaches the ports it binds', () => {
    const deployment = docs.find((d) => d.kind === 'Deployment')!;
    const proxy = deployment.spec.template.spec.containers[0];
    expect(proxy.image).toMatch(/^haproxy:2\.6/);
    const mount = proxy.volumeMounts[0];
    expect(mount.mountPath).toBe('/usr/local/etc/haproxy');
    expect(deployment.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name).configMap.name).toBe(docs.find((d) => d.kind === 'ConfigMap')!.metadata.name);
    const binds = [...cfg.matchAll(/^\s*bind :(\d+)/gm)].map((m) => Number(m[1]));
    const portOf = (name: string) => proxy.ports.find((p: { name: string }) => p.name === name).containerPort;
    for (const port of proxy.ports) expect(binds).toContain(port.containerPort);
    const service = docs.find((d) => d.kind === 'Service')!;
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    for (const port of service.spec.ports) expect(portOf(port.targetPort)).toBe(port.port);
    expect(proxy.readinessProbe.httpGet.path).toBe(/monitor-uri (\S+)/.exec(cfg)![1]);
    expect(portOf(proxy.readinessProbe.httpGet.port)).toBe(8404);
  });

  it('is a configuration HAProxy 2.6 accepts (`haproxy -c`), where HAProxy is installed', (ctx) => {
    if (!existsSync(HAPROXY)) {
      console.warn(`${HAPROXY} is not installed here: the configuration check is not run`);
      return ctx.skip();
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'k8s-haproxy-'));
    try {
      writeFileSync(path.join(dir, 'haproxy.cfg'), cfg);
      // The pods' names do not resolve here: HAProxy warns and starts those servers without an address.
      execFileSync(HAPROXY, ['-c', '-f', path.join(dir, 'haproxy.cfg')], { stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets a Prometheus that discovers pods by annotation scrape /metrics on the health port', () => {
    const annotations = set.spec.template.metadata.annotations;
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    expect(Number(annotations['prometheus.io/port'])).toBe(settings.GYM_TCP_HEALTH_PORT);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  it('runs a supported Node LTS as the node user, with valid settings and a HEALTHCHECK on /healthz at the health port', () => {
    for (const from of dockerfile.matchAll(/^FROM (\S+)/gm)) expect(from[1]).toMatch(/^node:(22|24)-bookworm-slim/);
    expect(dockerfile).toMatch(/^USER node$/m);
    const envBlock = /^ENV ([^]*?)\n(?!\s)/m.exec(dockerfile)![1];
    const env = Object.fromEntries([...envBlock.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
    const settings = serverSettings(env);
    const check = /^HEALTHCHECK [^]*?CMD (\[.*\])$/m.exec(dockerfile)!;
    const command = JSON.parse(check[1]) as string[];
    expect(command[0]).toBe('node');
    expect(command.join(' ')).toContain('/healthz');
    expect(command.join(' ')).toContain('process.env.GYM_TCP_HEALTH_PORT');
    expect(settings.GYM_TCP_HEALTH_PORT).toBe(8080);
    expect(dockerfile).toMatch(/^EXPOSE .*\b8080\b/m);
  });
});
