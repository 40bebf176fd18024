/**
 * A real nginx in front of the server, as users deploy it: TLS ends at nginx (a self-signed certificate made here
 * for the test's host names) and nginx talks plain HTTP to the server. Each instance runs as the current user with
 * its own configuration, logs and temporary files in a scratch folder. Debian's `nginx` package (installed by
 * `.ci/run`) provides the binary; where it is missing, `nginxUnavailable` says why and the tests skip, saying so.
 *
 *   const nginx = await startNginx({ upstream: app.url, hostNames: ['api.example.test'] });
 *   afterAll(() => nginx.stop());
 *   await page.goto(nginx.urlFor('api.example.test'));
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scratchDir } from './database.js';
import { spawnDaemon } from './daemon.js';
import { freePort, listening } from './ports.js';

export const NGINX_PATH = process.env.NGINX_PATH ?? '/usr/sbin/nginx';

/** Why nginx cannot run here, or undefined when it can. */
export function nginxUnavailable(): string | undefined {
  if (!fs.existsSync(NGINX_PATH)) {
    return `no nginx at ${NGINX_PATH} (install Debian's nginx package, as .ci/run does, or set NGINX_PATH)`;
  }
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return 'no openssl command to make the test certificate';
  }
  return undefined;
}

export interface NginxOptions {
  /** Where nginx forwards every request but `/`: the server's http://127.0.0.1:port. */
  upstream: string;
  /** The names the browser uses for nginx; the certificate holds them all. */
  hostNames: readonly string[];
  /** Send `X-Forwarded-Proto $scheme` (the line every TLS-terminating proxy needs). Default true. */
  forwardProto?: boolean;
  /** Send `Host $host`, the name the browser used (nginx's default is the upstream's address). Default true. */
  forwardHost?: boolean;
}

export interface Nginx {
  readonly port: number;
  /** https://<host>:<port>, for a host name the certificate holds. */
  urlFor(host: string): string;
  /** What nginx logged about itself (startup problems, upstream errors). */
  errorLog(): string;
  stop(): Promise<void>;
}

/** The HTML page nginx serves at `/`: a front-end on the same origin as the API, which it reaches at /graphql. */
const PAGE = '<!doctype html><title>front-end</title><p>front-end</p>';

export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const dir = scratchDir('nginx');
  makeCertificate(dir, options.hostNames);
  // A free port is chosen, then given to nginx: another process may take it in between, so a failed start retries.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await launch(dir, port, options);
    } catch (error) {
      if (attempt >= 3 || !/Address already in use/.test(String(error))) throw error;
    }
  }
}

function makeCertificate(dir: string, hostNames: readonly string[]): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${hostNames[0] ?? 'localhost'}`,
      '-addext',
      `subjectAltName=${hostNames.map((name) => `DNS:${name}`).join(',')}`,
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
}

function configuration(dir: string, port: number, options: NginxOptions): string {
  const upstream = new URL(options.upstream);
  const temp = (name: string) => path.join(dir, 'temp', name);
  for (const name of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(temp(name), { recursive: true });
  // As root (CI), nginx would switch its workers to `nobody`, who cannot read this folder: they stay root.
  const user = process.getuid?.() === 0 ? `user ${os.userInfo().username};` : '';
  return `${user}
worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  server {
    listen 127.0.0.1:${port} ssl;
    server_name ${options.hostNames.join(' ')};
    ssl_certificate ${path.join(dir, 'cert.pem')};
    ssl_certificate_key ${path.join(dir, 'key.pem')};
    location = / {
      default_type text/html;
      return 200 '${PAGE}';
    }
    location / {
      proxy_pass http://${upstream.host};
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      ${options.forwardHost === false ? '' : 'proxy_set_header Host $host;'}
      ${options.forwardProto === false ? '' : 'proxy_set_header X-Forwarded-Proto $scheme;'}
    }
  }
}
`;
}

async function launch(dir: string, port: number, options: NginxOptions): Promise<Nginx> {
  const conf = path.join(dir, 'nginx.conf');
  const errorLog = path.join(dir, 'error.log');
  fs.writeFileSync(conf, configuration(dir, port, options));
  fs.rmSync(errorLog, { force: true });
  const { child, stderr, exited } = spawnDaemon(NGINX_PATH, [
    '-p',
    dir,
    '-e',
    errorLog,
    '-c',
    conf,
    '-g',
    `daemon off; pid ${path.join(dir, 'nginx.pid')};`,
  ]);
  const readLog = () => (fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : '');
  const ready = await Promise.race([listening(port).then(() => true), exited.then(() => false)]);
  if (!ready) throw new Error(`nginx did not start: ${stderr()}${readLog()}`);
  return {
    port,
    urlFor: (host) => `https://${host}:${port}`,
    errorLog: readLog,
    stop: () => stopProcess(child, exited),
  };
}

async function stopProcess(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // SIGQUIT: nginx's graceful shutdown.
  child.kill('SIGQUIT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
