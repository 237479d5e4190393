// The local stack's OpenID Connect provider, in SurfConext's place: panva's certified oidc-provider.
//
// Strict where a real provider is strict: PKCE S256 on every authorization (a code redeemed without its
// verifier is invalid_grant), Basic client authentication with the registered secret and exact redirect
// URIs, ID tokens signed RS256 with a `kid`. Like SurfConext it releases the profile and email claims at
// userinfo only (unless a user or the whole provider says otherwise), so the broker must fetch them there.
//
// Run: node provider.mjs <config.json>. The config names issuer, host, port, the clients, the users file
// and `id_token_claims` (the global switch). The `/_admin/` routes answer loopback callers only:
//   GET  /_admin/health        -> {"kids": [...]}: the signer first
//   PUT  /_admin/users/<sub>   {"claims": {...}, "id_token_claims": bool?}: add or replace a user
//   PUT  /_admin/settings      {"id_token_claims": bool}: the global switch
//   POST /_admin/rotate-keys   a new signing key, the old ones kept in the JWKS (at most 3 in all)
// The login page (/interaction/<uid>) is a plain form: POST `sub=<subject>` logs in and consents,
// `decision=deny` sends `error=access_denied` back to the client. It loads nothing from the internet.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const MAX_KEYS = 3;
const MAX_BODY = 64 * 1024;
const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const settings = { idTokenClaims: Boolean(config.id_token_claims) };
const users = new Map();
for (const user of JSON.parse(readFileSync(config.users_file, 'utf8')).users) {
  users.set(user.sub, { claims: user.claims, idTokenClaims: user.id_token_claims });
}
const cookieKeys = [randomBytes(32).toString('hex')];
let keys = [await newKey()];
let provider = build();
let handler = provider.callback();

async function newKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

// One Provider per key set: the first key signs. Grants, sessions and codes live in the library's
// module-wide memory adapter, so a login begun before a rotation finishes after it.
function build() {
  const built = new Provider(config.issuer, {
    clients: config.clients.map((client) => ({
      client_id: client.client_id,
      client_secret: client.client_secret,
      redirect_uris: client.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys },
    cookies: { keys: cookieKeys },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'schac_home_organization'],
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: config.token_ttl_seconds,
      IdToken: config.token_ttl_seconds,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    async findAccount(_ctx, sub) {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims(use) {
          const inIdToken = user.idTokenClaims ?? settings.idTokenClaims;
          return use === 'id_token' && !inIdToken ? { sub } : { ...user.claims, sub };
        },
      };
    },
  });
  built.on('server_error', (_ctx, error) => console.error('oidc-provider server_error:', error));
  return built;
}

function send(res, status, body, type = 'application/json') {
  const text = type === 'application/json' ? JSON.stringify(body) : body;
  res.writeHead(status, { 'Content-Type': `${type}; charset=utf-8`, 'Cache-Control': 'no-store' });
  res.end(text);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(uid, details, problem = '') {
  const buttons = [...users.entries()]
    .map(([sub, user]) => `<button name="sub" value="${escape(sub)}">${escape(user.claims.name ?? sub)}</button>`)
    .join(' ');
  const what = details.prompt.name === 'login' ? 'Log in' : 'Allow';
  return `<!doctype html><html><head><meta charset="utf-8"><title>Local identity provider</title></head><body>
<h1>Local identity provider (SurfConext stand-in)</h1>
<p>${escape(details.params.client_id)} asks for: ${escape(details.params.scope)}</p>
${problem ? `<p role="alert">${escape(problem)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
<p>${buttons}</p>
<p><label>Subject <input name="sub" autocomplete="off"></label> <button name="decision" value="allow">${what}</button>
<button name="decision" value="deny" formnovalidate>Deny</button></p>
</form></body></html>`;
}

async function grantFor(details, accountId) {
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const missing = details.prompt.details ?? {};
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scope] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scope.join(' '));
  }
  return grant.save();
}

async function interaction(req, res, uid) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    return send(res, 400, 'This login has expired or is not yours: start again.', 'text/plain');
  }
  if (details.uid !== uid) return send(res, 400, 'Not this login.', 'text/plain');
  if (req.method === 'GET') return send(res, 200, page(uid, details), 'text/html');
  if (req.method !== 'POST') return send(res, 405, 'GET or POST', 'text/plain');
  const form = new URLSearchParams(await readBody(req));
  if (form.get('decision') === 'deny') {
    const denied = { error: 'access_denied', error_description: 'The user did not allow the login.' };
    return provider.interactionFinished(req, res, denied, { mergeWithLastSubmission: false });
  }
  if (details.prompt.name === 'login') {
    const sub = (form.getAll('sub').find((value) => value.trim()) ?? '').trim();
    if (!users.has(sub)) return send(res, 400, page(uid, details, `Unknown user ${sub || '(none)'}.`), 'text/html');
    const grantId = await grantFor(details, sub);
    return provider.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId } });
  }
  const grantId = await grantFor(details, details.session.accountId);
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function admin(req, res, path) {
  const address = req.socket.remoteAddress ?? '';
  if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(address)) return send(res, 403, { error: 'loopback only' });
  if (req.method === 'GET' && path === 'health') return send(res, 200, { kids: keys.map((key) => key.kid) });
  if (req.method === 'POST' && path === 'rotate-keys') {
    keys = [await newKey(), ...keys].slice(0, MAX_KEYS);
    provider = build();
    handler = provider.callback();
    return send(res, 200, { kid: keys[0].kid, kids: keys.map((key) => key.kid) });
  }
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    return send(res, 400, { error: 'a JSON object, please' });
  }
  if (req.method === 'PUT' && path === 'settings' && typeof body?.id_token_claims === 'boolean') {
    settings.idTokenClaims = body.id_token_claims;
    return send(res, 200, { id_token_claims: settings.idTokenClaims });
  }
  if (req.method === 'PUT' && path.startsWith('users/')) {
    const sub = decodeURIComponent(path.slice('users/'.length));
    const flag = body?.id_token_claims;
    if (!sub || typeof body?.claims !== 'object' || body.claims === null || !['boolean', 'undefined'].includes(typeof flag)) {
      return send(res, 400, { error: '{"claims": {...}, "id_token_claims": true|false (optional)}' });
    }
    users.set(sub, { claims: body.claims, idTokenClaims: flag });
    res.writeHead(204);
    return res.end();
  }
  return send(res, 404, { error: 'unknown admin route' });
}

const server = createServer(async (req, res) => {
  try {
    const { pathname } = new URL(req.url, config.issuer);
    if (pathname.startsWith('/_admin/')) return await admin(req, res, pathname.slice('/_admin/'.length));
    const match = pathname.match(/^\/interaction\/([\w-]+)$/);
    if (match) return await interaction(req, res, match[1]);
    return handler(req, res);
  } catch (error) {
    console.error('local identity provider:', error);
    if (!res.headersSent) send(res, 500, { error: 'server_error' });
    else res.end();
  }
});
server.on('error', (error) => {
  console.error(`local identity provider: ${error.message}`);
  process.exit(error.code === 'EADDRINUSE' ? 98 : 1);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
server.listen(config.port, config.host, () => console.log(`listening on ${config.issuer}`));
