// A strict OpenID Connect relying party built on panva's oauth4webapi,
// which internal/server/oidc_rp_test.go runs against a live latchkey.
//
//   node rp.mjs --issuer URL --client-id ID [--client-secret S] --redirect-uri URI --alg RS256|ES256
//
// Without --client-secret the client is public (token_endpoint_auth_method
// none); PKCE S256 is used either way. The script prints the authorization
// URL as one JSON line ({"authorization_url": ...}), reads the callback URL
// (the redirect the browser was sent to) as one line on stdin, then runs the
// code grant, userinfo and a refresh, and prints the result as one JSON line.
// Any failure is reported on stderr and exits 1; a successful run writes
// nothing on stderr.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import * as oauth from 'oauth4webapi';

// options parses the command line.
function options() {
  const { values } = parseArgs({
    options: {
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string' },
      alg: { type: 'string', default: 'RS256' },
    },
    strict: true,
  });
  for (const name of ['issuer', 'client-id', 'redirect-uri']) {
    if (!values[name]) {
      throw new Error(`--${name} is required`);
    }
  }
  return values;
}

// The test's latchkey is plain http on a loopback port.
const http = { [oauth.allowInsecureRequests]: true };

// readLine resolves with the next line of stdin.
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
async function readLine() {
  const { value, done } = await lines.next();
  if (done) {
    throw new Error('stdin closed before the callback URL was given');
  }
  return value.trim();
}

// header decodes a JWT's protected header (its signature is checked by
// validateApplicationLevelSignature, not here).
function header(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));
}

// checkAtHash verifies at_hash (OpenID Connect Core §3.1.3.6): the
// base64url of the left half of the access token's hash, SHA-256 for both
// RS256 and ES256. oauth4webapi does not check it in the code flow, where
// it is optional, so the script does.
async function checkAtHash(claims, accessToken, alg) {
  if (claims.at_hash === undefined) {
    return false;
  }
  if (alg !== 'RS256' && alg !== 'ES256') {
    throw new Error(`cannot check at_hash for alg ${alg}`);
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)));
  const want = Buffer.from(digest.slice(0, digest.length / 2)).toString('base64url');
  if (claims.at_hash !== want) {
    throw new Error(`ID token at_hash ${claims.at_hash} is not the hash of the access token (${want})`);
  }
  return true;
}

async function main() {
  const args = options();
  const issuer = new URL(args.issuer);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, http));

  // id_token_signed_response_alg makes oauth4webapi accept only that alg.
  const client = { client_id: args['client-id'], id_token_signed_response_alg: args.alg };
  const clientAuth = args['client-secret'] !== undefined
    ? oauth.ClientSecretBasic(args['client-secret'])
    : oauth.None();
  const redirectURI = args['redirect-uri'];

  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const authURL = new URL(as.authorization_endpoint);
  authURL.searchParams.set('client_id', client.client_id);
  authURL.searchParams.set('redirect_uri', redirectURI);
  authURL.searchParams.set('response_type', 'code');
  authURL.searchParams.set('scope', 'openid profile email');
  authURL.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  authURL.searchParams.set('code_challenge_method', 'S256');
  authURL.searchParams.set('state', state);
  authURL.searchParams.set('nonce', nonce);
  process.stdout.write(JSON.stringify({ authorization_url: authURL.href }) + '\n');

  // The authorization response: iss (RFC 9207, which the metadata
  // advertises), state, and no error.
  const callback = new URL(await readLine());
  const params = oauth.validateAuthResponse(as, client, callback, state);

  // The code grant: the ID token's iss, aud, exp, iat, sub, azp, nonce and
  // alg are checked by processAuthorizationCodeResponse, its signature
  // against the JWKS by validateApplicationLevelSignature.
  const codeResponse = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectURI, codeVerifier, http);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, codeResponse, { expectedNonce: nonce, requireIdToken: true });
  await oauth.validateApplicationLevelSignature(as, codeResponse, http);
  const idClaims = oauth.getValidatedIdTokenClaims(tokens);
  const idAlg = header(tokens.id_token).alg;
  const atHash = await checkAtHash(idClaims, tokens.access_token, idAlg);
  if (!tokens.refresh_token) {
    throw new Error('the token response has no refresh_token');
  }

  // userinfo: its sub must be the ID token's.
  const userinfoResponse = await oauth.userInfoRequest(as, client, tokens.access_token, http);
  const userinfo = await oauth.processUserInfoResponse(as, client, idClaims.sub, userinfoResponse);

  // The refresh: a new ID token, checked the same way (but for nonce).
  const refreshResponse = await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, http);
  const refreshed = await oauth.processRefreshTokenResponse(as, client, refreshResponse);
  if (!refreshed.id_token) {
    throw new Error('the refresh response has no id_token');
  }
  await oauth.validateApplicationLevelSignature(as, refreshResponse, http);
  const refreshedClaims = oauth.getValidatedIdTokenClaims(refreshed);
  const refreshedAlg = header(refreshed.id_token).alg;
  const refreshedAtHash = await checkAtHash(refreshedClaims, refreshed.access_token, refreshedAlg);

  process.stdout.write(JSON.stringify({
    id_token_alg: idAlg,
    id_token_claims: idClaims,
    id_token_at_hash_checked: atHash,
    userinfo,
    refreshed_id_token_alg: refreshedAlg,
    refreshed_id_token_claims: refreshedClaims,
    refreshed_id_token_at_hash_checked: refreshedAtHash,
  }) + '\n');
}

// describe renders an error with what oauth4webapi attaches to it: its code,
// the server's error for a ResponseBodyError, and the cause (the claims,
// header or parameters that failed a check).
function describe(err) {
  let msg = `${err?.name ?? 'Error'}: ${err?.message ?? err}`;
  if (err?.code) {
    msg += ` [${err.code}]`;
  }
  if (err?.error) {
    msg += ` (HTTP ${err.status}: ${err.error}${err.error_description ? ': ' + err.error_description : ''})`;
  }
  const cause = err?.cause;
  if (cause instanceof Response) {
    msg += `\ncause: HTTP ${cause.status} ${cause.url}`;
  } else if (cause !== undefined) {
    try {
      msg += `\ncause: ${JSON.stringify(cause, (k, v) => (v instanceof URL ? v.href : v instanceof URLSearchParams ? v.toString() : v))}`;
    } catch {
      msg += `\ncause: ${cause}`;
    }
  }
  return msg;
}

try {
  await main();
  lines.return?.();
  process.exit(0);
} catch (err) {
  process.stderr.write(describe(err) + '\n');
  process.exit(1);
}
