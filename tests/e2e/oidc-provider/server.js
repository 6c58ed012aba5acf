// A real OpenID provider (panva/oidc-provider) configured the way JumpCloud, Okta, Keycloak,
// Google, Entra ID or a generic provider behaves (presets.js), for the end-to-end tests only.
// Never used by the service itself.
//
// Settings come from the environment (or --name=value arguments):
//   PORT                      0 picks a free port (default 0)
//   PRESET                    jumpcloud (default) | okta | keycloak | google | entra | oidc
//   ISSUER                    overrides the preset's issuer (jumpcloud: http://127.0.0.1:PORT/)
//   CLIENT_ID, CLIENT_SECRET  the one registered client
//   CLIENT_AUTH               its only token endpoint auth method: client_secret_basic (default),
//                             client_secret_post or private_key_jwt
//   CLIENT_JWKS_URI           the client's jwks_uri (private_key_jwt; http on loopback is fetched)
//   REDIRECT_URI              its redirect URI
//   POST_LOGOUT_REDIRECT_URI  its registered post-logout redirect URI
//   TENANT_ID                 entra: the tenant GUID in the issuer and `tid`
//   MULTI_TENANT              entra: "1" makes the configured issuer /organizations/v2.0
//   REALM                     keycloak: the realm (default webrix)
//   ALIAS_PATH                also serve the provider under this path (e.g. /oauth2/other): its
//                             discovery document there still names the preset's issuer, as a
//                             wrong issuer URL pointing at another server of the same host would
//   USERS_JSON                [{"sub","email","given_name","family_name","groups", optional
//                             "hd","tid","oid","preferred_username","email_claim",
//                             "groups_overage","email_verified","id_token_audience"}, ...]
//                             id_token_audience: another client id; that client is registered
//                             too, and this user's ID tokens are issued to it (aud), not to the
//                             client that redeemed the code
//
// Once ready it prints `issuer ISSUER`, `configured_issuer ISSUER` and then
// `listening http://127.0.0.1:PORT` on stdout.
//
// Sign-in: /interaction/:uid shows a form with an email input (id="login") and a submit button
// (id="submit"); posting a known email completes login and consent (openid email profile) at
// once. An authorization request carrying a known `login_hint` skips the form. RP-initiated
// logout (every preset but google) confirms itself.

import crypto from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

import { DEFAULT_REALM, DEFAULT_TENANT_ID, preset } from './presets.js';

const DEFAULT_USERS = [
  {
    sub: 'alice-0001',
    email: 'alice@example.com',
    given_name: 'Alice',
    family_name: 'Anderson',
    groups: ['Webrix Admins', 'Engineering'],
  },
  {
    sub: 'bob-0002',
    email: 'bob@example.com',
    given_name: 'Bob',
    family_name: 'Brown',
    groups: ['Engineering'],
  },
];

const GRANTED_SCOPES = ['openid', 'email', 'profile'];

function settings() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      preset: { type: 'string' },
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'client-auth': { type: 'string' },
      'client-jwks-uri': { type: 'string' },
      'tenant-id': { type: 'string' },
      'multi-tenant': { type: 'string' },
      realm: { type: 'string' },
      'alias-path': { type: 'string' },
      'redirect-uri': { type: 'string' },
      'post-logout-redirect-uri': { type: 'string' },
      users: { type: 'string' },
    },
    strict: true,
  });
  const env = process.env;
  const pick = (arg, name, fallback) => values[arg] ?? env[name] ?? fallback;
  return {
    port: Number.parseInt(pick('port', 'PORT', '0'), 10),
    preset: pick('preset', 'PRESET', 'jumpcloud'),
    issuer: pick('issuer', 'ISSUER', ''),
    clientId: pick('client-id', 'CLIENT_ID', 'webrix'),
    clientSecret: pick('client-secret', 'CLIENT_SECRET', 'webrix-e2e-secret'),
    clientAuth: pick('client-auth', 'CLIENT_AUTH', 'client_secret_basic'),
    clientJwksUri: pick('client-jwks-uri', 'CLIENT_JWKS_URI', ''),
    tenantId: pick('tenant-id', 'TENANT_ID', '') || DEFAULT_TENANT_ID,
    multiTenant: ['1', 'true', 'yes'].includes(pick('multi-tenant', 'MULTI_TENANT', '').toLowerCase()),
    realm: pick('realm', 'REALM', '') || DEFAULT_REALM,
    aliasPath: pick('alias-path', 'ALIAS_PATH', '').replace(/\/+$/, ''),
    redirectUri: pick('redirect-uri', 'REDIRECT_URI', 'http://127.0.0.1:8080/api/auth/callback/jumpcloud'),
    postLogoutRedirectUri: pick('post-logout-redirect-uri', 'POST_LOGOUT_REDIRECT_URI', 'http://127.0.0.1:8080/'),
    users: JSON.parse(pick('users', 'USERS_JSON', '') || JSON.stringify(DEFAULT_USERS)),
  };
}

function escapeHtml(value) {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
${body}
</body>
</html>`;
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 64 * 1024) {
        reject(new Error('form too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

function clientMetadata(cfg) {
  const client = {
    client_id: cfg.clientId,
    redirect_uris: [cfg.redirectUri],
    post_logout_redirect_uris: [cfg.postLogoutRedirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: cfg.clientAuth,
    id_token_signed_response_alg: 'RS256',
  };
  if (cfg.clientAuth === 'private_key_jwt') {
    if (!cfg.clientJwksUri) {
      throw new Error('CLIENT_AUTH=private_key_jwt needs CLIENT_JWKS_URI');
    }
    client.jwks_uri = cfg.clientJwksUri;
    client.token_endpoint_auth_signing_alg = 'RS256';
  } else {
    client.client_secret = cfg.clientSecret;
  }
  return client;
}

// Clients the users' `id_token_audience` names: registered like the main one, with a redirect URI
// of their own, so the provider can issue ID tokens to them.
function otherClients(cfg) {
  const ids = [...new Set(cfg.users.map((u) => u.id_token_audience).filter(Boolean))];
  return ids
    .filter((id) => id !== cfg.clientId)
    .map((id) => ({ ...clientMetadata({ ...cfg, clientId: id }), redirect_uris: [`http://127.0.0.1/${encodeURIComponent(id)}/callback`] }));
}

function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

// The token response's ID token for a user whose tokens go to another client: the same claims,
// issued by oidc-provider's own IdToken model (its signing key) to that client instead.
async function reissueForAnotherClient(ctx, provider, usersBySub) {
  if (ctx.oidc?.route !== 'token' || typeof ctx.body?.id_token !== 'string') {
    return;
  }
  const original = jwtPayload(ctx.body.id_token);
  const audience = usersBySub.get(original.sub)?.id_token_audience;
  if (!audience || audience === ctx.oidc.client?.clientId) {
    return;
  }
  const other = await provider.Client.find(audience);
  const { iss, aud, exp, iat, azp, nonce, sid, at_hash: atHash, ...claims } = original;
  const token = new provider.IdToken(claims, { ctx, client: other });
  token.scope = 'openid';
  token.mask = Object.fromEntries(Object.keys(claims).map((name) => [name, null]));
  token.set('nonce', nonce);
  token.set('sid', sid);
  if (atHash) {
    token.set('at_hash', ctx.body.access_token);
  }
  ctx.body.id_token = await token.issue({ use: 'idtoken' });
}

// Serve oidc-provider under a path: it builds its URLs from the part of req.originalUrl that
// precedes req.url (lib/helpers/oidc_context.js, urlFor), so strip the prefix from req.url and
// keep the mount path in req.originalUrl.
function mount(req, mounts) {
  const url = req.url ?? '/';
  for (const { prefix, mountPath, innerPrefix } of mounts) {
    if (url.startsWith(prefix)) {
      req.url = innerPrefix + url.slice(prefix.length);
      req.originalUrl = mountPath + req.url;
      req.webrixMountPath = mountPath;
      return;
    }
  }
}

// What oidc-provider cannot be configured to do: the templated issuer of Entra's multi-tenant
// discovery documents, and no RFC 9207 `iss` parameter where the real provider sends none.
function adjustResponse(ctx, behaviour, redirectUri) {
  if (ctx.oidc?.route === 'discovery' && ctx.body && typeof ctx.body === 'object') {
    const templated = behaviour.templatedDiscovery[ctx.req.webrixMountPath ?? ''];
    if (templated) {
      ctx.body.issuer = templated;
    }
    if (!behaviour.issParameter) {
      delete ctx.body.authorization_response_iss_parameter_supported;
    }
  }
  const location = ctx.response.get('location');
  if (!behaviour.issParameter && location && location.startsWith(redirectUri)) {
    const target = new URL(location);
    if (target.searchParams.has('iss')) {
      target.searchParams.delete('iss');
      ctx.response.set('location', target.href);
    }
  }
}

async function main() {
  const cfg = settings();
  const usersBySub = new Map(cfg.users.map((u) => [u.sub, u]));
  const usersByEmail = new Map(cfg.users.map((u) => [u.email.toLowerCase(), u]));

  // The issuer carries the port, so bind first and build the provider afterwards.
  const server = http.createServer();
  const port = await listen(server, cfg.port);
  const base = `http://127.0.0.1:${port}`;
  const behaviour = preset(cfg.preset, base, {
    tenantId: cfg.tenantId,
    multiTenant: cfg.multiTenant,
    realm: cfg.realm,
  });
  if (cfg.aliasPath) {
    behaviour.mounts.push({ prefix: `${cfg.aliasPath}/`, mountPath: cfg.aliasPath, innerPrefix: '/' });
  }
  const issuer = cfg.issuer || behaviour.issuer;
  const configuredIssuer = cfg.issuer || behaviour.configuredIssuer;

  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    clients: [clientMetadata(cfg), ...otherClients(cfg)],
    clientAuthMethods: [cfg.clientAuth],
    responseTypes: ['code'],
    scopes: ['openid', 'email', 'profile'],
    routes: behaviour.routes,
    jwks: { keys: [signingKey] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    claims: behaviour.claims,
    // Put the scope claims in the ID token, as these providers do, not only at userinfo.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    // oidc-provider refuses to fetch from special-use addresses (SSRF protection); the client's
    // jwks_uri is the service on loopback, so fetch loopback URLs without that guard.
    fetch(url, options) {
      const { hostname } = new URL(url);
      if (['127.0.0.1', 'localhost', '[::1]'].includes(hostname)) {
        const { dispatcher, ...rest } = options;
        return globalThis.fetch(url, rest);
      }
      return globalThis.fetch(url, options);
    },
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: behaviour.rpInitiatedLogout
        ? {
            enabled: true,
            async logoutSource(ctx, form) {
              // Confirm at once: add logout=yes to the provider's form and submit it on load.
              const confirmed = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
              ctx.body = page(
                'Signing out',
                `${confirmed}
<p>Signing out…</p>
<noscript><button type="submit" form="op.logoutForm">Sign out</button></noscript>
<script>document.forms[0].submit();</script>`,
              );
            },
            async postLogoutSuccessSource(ctx) {
              ctx.body = page('Signed out', '<h1>Signed out</h1>');
            },
          }
        : { enabled: false },
    },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    async findAccount(ctx, sub) {
      const user = usersBySub.get(sub);
      if (!user) {
        return undefined;
      }
      return {
        accountId: sub,
        async claims() {
          return behaviour.accountClaims(user);
        },
      };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>${escapeHtml(out.error)}</h1><p>${escapeHtml(out.error_description ?? '')}</p>`);
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.use(async (ctx, next) => {
    // oidc-provider takes a secret from the Basic header whenever client_secret_post is
    // registered too; refuse it, so a test proves the service used the one method configured.
    if (ctx.method === 'POST' && cfg.clientAuth !== 'client_secret_basic' && /^basic /i.test(ctx.get('authorization'))) {
      ctx.status = 401;
      ctx.body = {
        error: 'invalid_client',
        error_description: `the client authenticates with ${cfg.clientAuth}, not client_secret_basic`,
      };
      return;
    }
    await next();
    await reissueForAnotherClient(ctx, provider, usersBySub);
    adjustResponse(ctx, behaviour, cfg.redirectUri);
  });

  async function completeLogin(req, res, details, user) {
    const requested = new Set(String(details.params.scope ?? '').split(' '));
    const scope = GRANTED_SCOPES.filter((s) => requested.has(s)).join(' ');
    const grant = new provider.Grant({ accountId: user.sub, clientId: details.params.client_id });
    grant.addOIDCScope(scope);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.sub }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  function loginForm(uid, message) {
    const options = cfg.users.map((u) => `<li>${escapeHtml(u.email)}</li>`).join('');
    return page(
      'Sign in',
      `<h1>Sign in (e2e OpenID provider)</h1>
${message ? `<p id="error">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
  <label for="login">Email</label>
  <input id="login" name="login" type="email" autofocus>
  <button id="submit" type="submit">Sign in</button>
</form>
<p>Known users:</p><ul>${options}</ul>`,
    );
  }

  async function interaction(req, res, uid) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('interaction mismatch');
      return;
    }
    if (req.method === 'GET') {
      const hinted = usersByEmail.get(String(details.params.login_hint ?? '').toLowerCase());
      if (hinted) {
        await completeLogin(req, res, details, hinted);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(loginForm(uid, ''));
      return;
    }
    if (req.method === 'POST') {
      const form = await readForm(req);
      const user = usersByEmail.get(String(form.get('login') ?? '').trim().toLowerCase());
      if (!user) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(loginForm(uid, 'Unknown user'));
        return;
      }
      await completeLogin(req, res, details, user);
      return;
    }
    res.writeHead(405, { allow: 'GET, POST' }).end();
  }

  const providerCallback = provider.callback();
  server.on('request', (req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)\/?(?:\?.*)?$/.exec(req.url ?? '');
    if (!match) {
      mount(req, behaviour.mounts);
      providerCallback(req, res);
      return;
    }
    interaction(req, res, match[1]).catch((err) => {
      console.error('interaction error', err);
      if (!res.headersSent) {
        res.writeHead(400, { 'content-type': 'text/plain' });
      }
      res.end(`interaction failed: ${err.message}`);
    });
  });

  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  console.log(`issuer ${issuer}`);
  console.log(`configured_issuer ${configuredIssuer}`);
  console.log(`listening http://127.0.0.1:${port}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
