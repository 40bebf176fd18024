/**
 * GraphiQL at GET /graphql, served entirely by this server (GRAPHQL_EXPLORER=graphiql, the default outside
 * production): it works offline and asks no other host for anything.
 *
 * The bundle (GraphiQL, React and Monaco, about 9 MB from @graphql-yoga/render-graphiql) is loaded on the first
 * visit, never at start-up, and served as separate files named by a hash of their content, so that a browser keeps
 * them and the page itself is a few hundred bytes. The page runs no inline script: its options travel as JSON
 * data, and a Content-Security-Policy lets it load and connect to this origin only.
 */
import crypto from 'node:crypto';
import express, { type Request, type RequestHandler, type Router } from 'express';

/** Where the explorer's files are served; outside /graphql, so that they skip the session and the `no-store`. */
export const EXPLORER_ASSETS_PATH = '/explorer';

/**
 * Only this origin, for everything (default-src 'none' lists each need). `style-src 'unsafe-inline'`: Monaco and
 * GraphiQL inject <style> elements at run time; styles cannot run code. `data:` for images and fonts: the bundle's
 * icons and fonts are inlined in its CSS. Workers are files of this origin, not blobs. No framing (clickjacking), no
 * <base> (it would redirect the scripts' relative URLs), and forms post nowhere.
 */
export const EXPLORER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The operations a new visitor finds in the editor: log in, then ask who you are. */
const DEFAULT_QUERY = `# Run "Login" (with a user of yours: npm run manage -- createsuperuser), then "Me".
# The session cookie stays in this browser: every operation after the login is made as that user.
mutation Login {
  login(username: "admin", password: "your password") {
    username
  }
}

query Me {
  me {
    username
    isSuperuser
  }
}

mutation Logout {
  logout
}
`;

/**
 * Runs in the page before the bundle: Monaco asks MonacoEnvironment for its workers' URLs when it starts them, and
 * the page renders once every script has run. A file of ours (the CSP allows no inline script).
 */
const START_SCRIPT = `'use strict';
const options = JSON.parse(document.getElementById('graphiql-options').textContent);
const workers = options.workers;
delete options.workers;
self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };
document.addEventListener('DOMContentLoaded', () => {
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
});
`;

interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
  /** The path the page refers to it by: a hash of the content in the name makes it safe to keep for a year. */
  readonly path: string;
}

interface Bundle {
  readonly assets: ReadonlyMap<string, Asset>;
  readonly page: (endpoint: string) => string;
}

function asset(name: string, extension: string, contentType: string, content: string | Buffer): Asset {
  const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const hash = crypto.createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { contentType, body, path: `${EXPLORER_ASSETS_PATH}/${name}.${hash}.${extension}` };
}

/** JSON that can sit inside a <script> element: no `</script>` or `<!--` can close or confuse it. */
function jsonForScriptElement(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

async function loadBundle(): Promise<Bundle> {
  const bundle = await import('@graphql-yoga/render-graphiql/graphiql');
  const js = 'text/javascript; charset=utf-8';
  const [favicon, iconBase64] = bundle.favicon.split(',', 2);
  const list = [
    asset('graphiql', 'js', js, bundle.js),
    asset('graphiql', 'css', 'text/css; charset=utf-8', bundle.css),
    asset('start', 'js', js, START_SCRIPT),
    asset('editor-worker', 'js', js, bundle.editorWorkerService),
    asset('json-worker', 'js', js, bundle.jsonWorker),
    asset('graphql-worker', 'js', js, bundle.graphqlWorker),
    asset(
      'favicon',
      'ico',
      'image/x-icon',
      Buffer.from(favicon?.endsWith(';base64') ? (iconBase64 ?? '') : '', 'base64'),
    ),
  ] as const;
  const [script, style, start, editorWorker, jsonWorker, graphqlWorker, icon] = list;
  const page = (endpoint: string): string => {
    const options = {
      endpoint,
      title: 'GraphiQL',
      defaultQuery: DEFAULT_QUERY,
      // Same origin only: the session cookie goes with every operation, and to no other site.
      credentials: 'same-origin',
      // Apollo's CSRF prevention refuses requests a plain form could send: POSTs carry JSON, and this header covers
      // the GETs (a header a form cannot set, so a browser asks before sending it cross-site).
      additionalHeaders: { 'apollo-require-preflight': 'true' },
      workers: { editorWorkerService: editorWorker.path, json: jsonWorker.path, graphql: graphqlWorker.path },
    };
    return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>GraphiQL</title>
    <link rel="icon" href="${icon.path}" />
    <link rel="stylesheet" href="${style.path}" />
    <script type="application/json" id="graphiql-options">${jsonForScriptElement(options)}</script>
    <script src="${start.path}"></script>
    <script src="${script.path}"></script>
  </head>
  <body class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root" style="height: 100vh"></div>
  </body>
</html>
`;
  };
  return { assets: new Map(list.map((item) => [item.path, item])), page };
}

let loading: Promise<Bundle> | undefined;
/** Loaded once, on first use: a server that never shows the explorer never reads the 9 MB. */
function bundle(): Promise<Bundle> {
  loading ??= loadBundle().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/**
 * Whether a GET asks for a page rather than a GraphQL answer: Apollo's own rule (its landing page's), which orders the
 * types it answers before text/html, so that `Accept: *\/*` (curl, fetch) still gets JSON.
 */
function prefersHtml(req: Request): boolean {
  return (
    req.accepts([
      'application/json',
      'application/graphql-response+json',
      'multipart/mixed; deferSpec=20220824',
      'multipart/mixed; incrementalSpec=v0.2',
      'multipart/mixed',
      'text/html',
    ]) === 'text/html'
  );
}

/** The explorer's page, for GET /graphql from a browser (mount at the GraphQL path, before Apollo). */
export function explorerPage(): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' || !prefersHtml(req)) {
      next();
      return;
    }
    bundle().then((loaded) => {
      res.set('Content-Security-Policy', EXPLORER_CSP);
      res.type('html').send(loaded.page(req.baseUrl));
    }, next);
  };
}

/** The explorer's files, at EXPLORER_ASSETS_PATH. */
export function explorerAssets(): Router {
  const router = express.Router();
  router.get(/^\/[a-z-]+\.[0-9a-f]{16}\.(js|css|ico)$/, (req, res, next) => {
    bundle().then((loaded) => {
      const found = loaded.assets.get(`${EXPLORER_ASSETS_PATH}${req.path}`);
      if (!found) {
        next();
        return;
      }
      // Its name changes with its content: a year, and never asked again.
      res.set('Cache-Control', 'public, max-age=31536000, immutable');
      res.set('X-Content-Type-Options', 'nosniff');
      res.type(found.contentType).send(found.body);
    }, next);
  });
  return router;
}
