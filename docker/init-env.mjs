#!/usr/bin/env node
/**
 * Makes a .env for the local docker-compose stack from .env.example, with fresh random secrets:
 * POSTGRES_PASSWORD, AUTHENTICATOR_PASSWORD, JWT_SECRET, ADMIN_API_TOKEN, INGEST_API_TOKEN, and
 * SUPABASE_SERVICE_ROLE_KEY = an HS256 JWT with role service_role signed with that JWT_SECRET
 * (what Supabase calls the service_role key; PostgREST verifies it with the same secret).
 *
 *   node docker/init-env.mjs                 write .env (refuses to overwrite; --force to replace)
 *   node docker/init-env.mjs --out FILE      write FILE instead
 *   JWT_SECRET=... node docker/init-env.mjs --jwt [role]
 *                                            print a JWT for role (default service_role) signed
 *                                            with $JWT_SECRET, e.g. for an existing .env
 *
 * Everything generated is for the local stack only: never reuse it on a deployed service.
 * Only Node built-ins are used, so it runs before `npm ci`.
 */
import { Buffer } from 'node:buffer';
import { randomBytes, createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TEN_YEARS_S = 10 * 365 * 24 * 3600;

/** URL-safe random text (no characters that need escaping in a postgres:// URL). */
export function randomSecret(bytes = 32) {
  return randomBytes(bytes).toString('base64url');
}

/** An HS256 JWT like Supabase's API keys: { iss, role, iat, exp }. */
export function signJwt(secret, role = 'service_role', nowS = Math.floor(Date.now() / 1000)) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ iss: 'supabase-local', role, iat: nowS, exp: nowS + TEN_YEARS_S })}`;
  const signature = createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

/** Replaces the values of the given keys in .env text (KEY=value lines), keeping everything else. */
export function fillEnv(text, values) {
  const seen = new Set();
  const out = text.replace(/^([A-Z][A-Z0-9_]*)=.*$/gm, (line, key) => {
    if (!(key in values)) return line;
    seen.add(key);
    return `${key}=${values[key]}`;
  });
  const missing = Object.keys(values).filter((k) => !seen.has(k));
  if (missing.length > 0) throw new Error(`.env.example has no line for ${missing.join(', ')}`);
  return out;
}

export function freshSecrets() {
  const jwtSecret = randomSecret(48);
  return {
    POSTGRES_PASSWORD: randomSecret(24),
    AUTHENTICATOR_PASSWORD: randomSecret(24),
    JWT_SECRET: jwtSecret,
    SUPABASE_SERVICE_ROLE_KEY: signJwt(jwtSecret, 'service_role'),
    ADMIN_API_TOKEN: randomSecret(24),
    INGEST_API_TOKEN: randomSecret(24),
  };
}

function main(argv) {
  const jwtAt = argv.indexOf('--jwt');
  if (jwtAt >= 0) {
    const secret = process.env.JWT_SECRET;
    if (!secret || secret.length < 32) throw new Error('set JWT_SECRET (at least 32 characters; PostgREST refuses shorter secrets)');
    const role = argv[jwtAt + 1] && !argv[jwtAt + 1].startsWith('--') ? argv[jwtAt + 1] : 'service_role';
    process.stdout.write(`${signJwt(secret, role)}\n`);
    return;
  }
  const outAt = argv.indexOf('--out');
  const out = path.resolve(outAt >= 0 && argv[outAt + 1] ? argv[outAt + 1] : path.join(ROOT, '.env'));
  if (existsSync(out) && !argv.includes('--force')) {
    throw new Error(`${out} exists; pass --force to replace it (its secrets would change: recreate the postgres volume too)`);
  }
  const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  writeFileSync(out, fillEnv(example, freshSecrets()), { mode: 0o600 });
  process.stdout.write(`wrote ${out} with fresh local secrets (local use only)\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`init-env: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
