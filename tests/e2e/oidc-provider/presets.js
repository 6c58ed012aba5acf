// How the e2e provider imitates each identity provider the service has a preset for: its issuer,
// where oidc-provider is mounted, its endpoint paths, the claims it puts in the ID token and
// whether it has RP-initiated logout. server.js builds one oidc-provider from one of these.
//
// A preset is { issuer, configuredIssuer, mounts, routes, claims, accountClaims(user),
// rpInitiatedLogout, issParameter, templatedDiscovery }:
//   mounts        [{ prefix, mountPath, innerPrefix }]: a request whose path starts with `prefix`
//                 reaches oidc-provider as `innerPrefix` + the rest, mounted at `mountPath` (so
//                 the URLs it builds carry `mountPath`).
//   issParameter  false strips the RFC 9207 `iss` parameter from discovery and from responses
//                 (Entra ID and Google do not send it).
//   templatedDiscovery  mount prefixes whose discovery document advertises the templated issuer
//                 (Entra's /organizations and /common).

import crypto from 'node:crypto';

export const PRESETS = ['jumpcloud', 'okta', 'keycloak', 'google', 'entra', 'oidc'];
export const DEFAULT_TENANT_ID = '3c9f1a52-7d0e-4b8a-9f61-2e5d7c4b8a10';
export const DEFAULT_REALM = 'webrix';

// A stable GUID for a user without an `oid` in their record.
function guidFrom(text) {
  const hex = crypto.createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function mountedAt(path) {
  return [{ prefix: `${path}/`, mountPath: path, innerPrefix: '/' }];
}

function emailVerified(user) {
  return user.email_verified ?? true;
}

function jumpcloud(base) {
  return {
    issuer: `${base}/`,
    mounts: [],
    // JumpCloud's endpoint paths, so the tests also prove nothing is hard-coded elsewhere.
    routes: {
      authorization: '/oauth2/auth',
      token: '/oauth2/token',
      userinfo: '/userinfo',
      jwks: '/.well-known/jwks.json',
      end_session: '/oauth2/sessions/logout',
    },
    claims: {
      // JumpCloud sends the admin-named groups claim with every token once it is enabled.
      openid: ['sub', 'groups'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name'],
    },
    accountClaims: (user) => ({
      sub: user.sub,
      email: user.email,
      email_verified: emailVerified(user),
      given_name: user.given_name,
      family_name: user.family_name,
      groups: user.groups ?? [],
    }),
    rpInitiatedLogout: true,
    issParameter: true,
  };
}

function fullProfile(user) {
  return {
    sub: user.sub,
    email: user.email,
    email_verified: emailVerified(user),
    name: `${user.given_name} ${user.family_name}`.trim(),
    given_name: user.given_name,
    family_name: user.family_name,
    preferred_username: user.email,
    groups: user.groups ?? [],
  };
}

const FULL_PROFILE_CLAIMS = {
  openid: ['sub', 'groups'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username'],
};

// Okta's custom authorization server ("default"): {org}/oauth2/default, /v1/... endpoints,
// a `groups` claim of group names once the admin adds one.
function okta(base) {
  const path = '/oauth2/default';
  return {
    issuer: `${base}${path}`,
    mounts: mountedAt(path),
    routes: {
      authorization: '/v1/authorize',
      token: '/v1/token',
      userinfo: '/v1/userinfo',
      jwks: '/v1/keys',
      end_session: '/v1/logout',
    },
    claims: FULL_PROFILE_CLAIMS,
    accountClaims: fullProfile,
    rpInitiatedLogout: true,
    issParameter: true,
  };
}

// Keycloak: {base}/realms/{realm}, /protocol/openid-connect/... endpoints; groups by name
// (the group membership mapper with "full group path" off).
function keycloak(base, { realm }) {
  const path = `/realms/${realm}`;
  return {
    issuer: `${base}${path}`,
    mounts: mountedAt(path),
    routes: {
      authorization: '/protocol/openid-connect/auth',
      token: '/protocol/openid-connect/token',
      userinfo: '/protocol/openid-connect/userinfo',
      jwks: '/protocol/openid-connect/certs',
      end_session: '/protocol/openid-connect/logout',
    },
    claims: FULL_PROFILE_CLAIMS,
    accountClaims: fullProfile,
    rpInitiatedLogout: true,
    issParameter: true,
  };
}

// Google: issuer without a trailing slash, no end_session_endpoint, `hd` for Workspace accounts
// only, no groups claim.
function google(base) {
  return {
    issuer: base,
    mounts: [],
    routes: {
      authorization: '/o/oauth2/v2/auth',
      token: '/token',
      userinfo: '/v1/userinfo',
      jwks: '/oauth2/v3/certs',
      end_session: '/session/end',
    },
    claims: {
      openid: ['sub', 'hd'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    accountClaims: (user) => {
      const claims = {
        sub: user.sub,
        email: user.email,
        email_verified: emailVerified(user),
        name: `${user.given_name} ${user.family_name}`.trim(),
        given_name: user.given_name,
        family_name: user.family_name,
      };
      if (user.hd) {
        claims.hd = user.hd;
      }
      return claims;
    },
    rpInitiatedLogout: false,
    issParameter: false,
  };
}

// Entra ID (v2.0 endpoints of one tenant): tokens carry {base}/{tid}/v2.0; the endpoints live
// under {base}/{tid}/; the multi-tenant documents at /organizations/v2.0 and /common/v2.0
// advertise the templated issuer {base}/{tenantid}/v2.0. No email_verified ever; groups are
// object ids, or the overage claim pointing at Microsoft Graph.
function entra(base, { tenantId, multiTenant }) {
  const tenantMounts = (segment) => [
    { prefix: `/${segment}/v2.0/.well-known/`, mountPath: `/${segment}`, innerPrefix: '/.well-known/' },
    { prefix: `/${segment}/`, mountPath: `/${segment}`, innerPrefix: '/' },
  ];
  const issuer = `${base}/${tenantId}/v2.0`;
  return {
    issuer,
    configuredIssuer: multiTenant ? `${base}/organizations/v2.0` : issuer,
    mounts: [...tenantMounts(tenantId), ...tenantMounts('organizations'), ...tenantMounts('common')],
    templatedDiscovery: {
      '/organizations': `${base}/{tenantid}/v2.0`,
      '/common': `${base}/{tenantid}/v2.0`,
    },
    routes: {
      authorization: '/oauth2/v2.0/authorize',
      token: '/oauth2/v2.0/token',
      userinfo: '/oidc/userinfo',
      jwks: '/discovery/v2.0/keys',
      end_session: '/oauth2/v2.0/logout',
    },
    claims: {
      openid: ['sub', 'tid', 'oid', 'groups'],
      email: ['email'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    },
    accountClaims: (user) => {
      const oid = user.oid ?? guidFrom(user.sub);
      const claims = {
        sub: user.sub,
        tid: user.tid ?? tenantId,
        oid,
        name: `${user.given_name} ${user.family_name}`.trim(),
        given_name: user.given_name,
        family_name: user.family_name,
        preferred_username: user.preferred_username ?? user.email,
      };
      if (user.email_claim !== false) {
        claims.email = user.email;
      }
      if (user.groups_overage) {
        claims._claim_names = { groups: 'src1' };
        claims._claim_sources = {
          src1: { endpoint: `https://graph.microsoft.com/v1.0/users/${oid}/getMemberObjects` },
        };
      } else {
        claims.groups = user.groups ?? [];
      }
      return claims;
    },
    rpInitiatedLogout: true,
    issParameter: false,
  };
}

// A generic OpenID provider with oidc-provider's own endpoint paths, mounted at /idp.
function oidc(base) {
  const path = '/idp';
  return {
    issuer: `${base}${path}`,
    mounts: mountedAt(path),
    routes: {},
    claims: FULL_PROFILE_CLAIMS,
    accountClaims: fullProfile,
    rpInitiatedLogout: true,
    issParameter: true,
  };
}

const BUILDERS = { jumpcloud, okta, keycloak, google, entra, oidc };

export function preset(name, base, options) {
  const build = BUILDERS[name];
  if (!build) {
    throw new Error(`unknown preset ${JSON.stringify(name)}; one of ${PRESETS.join(', ')}`);
  }
  const built = build(base, options);
  return { templatedDiscovery: {}, configuredIssuer: built.issuer, ...built };
}
