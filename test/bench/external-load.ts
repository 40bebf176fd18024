/**
 * Load from outside Node: wrk (Debian's `wrk`), with keep-alive connections and a Lua script that rotates real
 * session cookies and checks every answer. Without wrk, autocannon (in this Node process, so on the cores the servers
 * use) with a printed warning.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';

export interface LoadTarget {
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  headers: Record<string, string>;
  /** Whole `name=value` cookies sent in turn, one per request; none: no Cookie header. */
  cookies: readonly string[];
  /** Text every answer's body must hold (and its status must be 200). */
  expect: string;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export const LOAD_CONNECTIONS = 16;

/** wrk's path, or undefined when it is not installed. */
export function findWrk(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Loads `target` for `seconds`; any failed or wrong answer makes the whole bench fail. */
export async function externalLoad(
  target: LoadTarget,
  seconds: number,
  wrk: string | undefined,
  connections = LOAD_CONNECTIONS,
): Promise<LoadResult> {
  return wrk === undefined ? autocannonLoad(target, seconds, connections) : wrkLoad(wrk, target, seconds, connections);
}

/** A Lua string literal (JSON's escapes for quotes and backslashes are Lua's too; the texts here are ASCII). */
function lua(text: string): string {
  return JSON.stringify(text);
}

function script(target: LoadTarget): string {
  return `
local cookies = { ${target.cookies.map(lua).join(', ')} }
local expect = ${lua(target.expect)}
local n = 0
bad = 0
sample = ""
wrk.method = ${lua(target.method)}
${target.body === undefined ? '' : `wrk.body = ${lua(target.body)}`}
${Object.entries(target.headers)
  .map(([name, value]) => `wrk.headers[${lua(name)}] = ${lua(value)}`)
  .join('\n')}
request = function()
  n = n + 1
  if #cookies > 0 then wrk.headers["Cookie"] = cookies[(n % #cookies) + 1] end
  return wrk.format()
end
response = function(status, headers, body)
  if status ~= 200 or not string.find(body, expect, 1, true) then
    bad = bad + 1
    if sample == "" then sample = status .. " " .. string.sub(body, 1, 200) end
  end
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local wrong = 0
  local first = ""
  for _, thread in ipairs(threads) do
    wrong = wrong + thread:get("bad")
    if first == "" then first = thread:get("sample") end
  end
  local e = summary.errors
  io.write(string.format("WRK_RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, wrong, latency:percentile(50), latency:percentile(99)))
  io.write("WRK_SAMPLE " .. first .. "\\n")
end
`;
}

async function wrkLoad(wrk: string, target: LoadTarget, seconds: number, connections: number): Promise<LoadResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-wrk-'));
  try {
    const file = path.join(dir, 'load.lua');
    await fs.writeFile(file, script(target));
    // One thread: wrk in C needs a fraction of a core for this; a second would take more of the server's.
    const { stdout } = await promisify(execFile)(
      wrk,
      ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', file, target.url],
      { maxBuffer: 1 << 20 },
    );
    const line = /^WRK_RESULT (.*)$/m.exec(stdout)?.[1];
    if (line === undefined) throw new Error(`wrk printed no result: ${stdout}`);
    const [requests = 0, micros = 1, errors = 0, wrong = 0, p50 = 0, p99 = 0] = line.split(' ').map(Number);
    if (errors + wrong > 0 || requests === 0) {
      const sample = /^WRK_SAMPLE (.*)$/m.exec(stdout)?.[1] ?? '';
      throw new Error(`${target.url}: ${errors} failed and ${wrong} wrong answers of ${requests}: ${sample}`);
    }
    return {
      requests,
      seconds: micros / 1e6,
      reqPerSec: requests / (micros / 1e6),
      p50Ms: p50 / 1000,
      p99Ms: p99 / 1000,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function autocannonLoad(target: LoadTarget, seconds: number, connections: number): Promise<LoadResult> {
  let next = 0;
  let wrong = 0;
  let sample = '';
  const started = performance.now();
  const result = await autocannon({
    url: target.url,
    method: target.method,
    connections,
    duration: seconds,
    headers: target.headers,
    ...(target.body === undefined ? {} : { body: target.body }),
    requests: [
      {
        setupRequest: (request) => {
          const cookie = target.cookies[next++ % Math.max(target.cookies.length, 1)];
          return cookie === undefined ? request : { ...request, headers: { ...request.headers, cookie } };
        },
        onResponse: (status, body) => {
          if (status !== 200 || !body.includes(target.expect)) {
            wrong += 1;
            sample ||= `${status} ${body.slice(0, 200)}`;
          }
        },
      },
    ],
  });
  const elapsed = (performance.now() - started) / 1000;
  const failed = result.errors + result.timeouts + result.non2xx;
  if (failed + wrong > 0) {
    throw new Error(`${target.url}: ${failed} failed and ${wrong} wrong answers: ${sample}`);
  }
  return {
    requests: result.requests.total,
    seconds: elapsed,
    reqPerSec: result.requests.total / elapsed,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}
