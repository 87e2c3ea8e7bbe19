/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import pg from 'pg';
import { AppConfig, ConfigError } from '@emporium/config';
import {
  allEntities,
  httpClient,
  isolatedEnvironment,
  poll,
  requireServices,
  runToExit,
  startApp,
  type HttpResponse,
  type IsolatedEnvironment,
  type RunningApp,
} from '@emporium/testing';
import { hostileValue, resolve, validValue, type Components, type Schema } from './openapi-fuzz.js';

const run = promisify(execFile);

interface Operation {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: Schema }>;
  requestBody?: { content: { 'application/json': { schema: Schema } } };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
  security?: unknown[];
}
/** Admin routes document their 403 as "admin only". */
const isAdminOnly = (operation: Operation): boolean =>
  /admin only/i.test((operation.responses['403'] as { description?: string } | undefined)?.description ?? '');

interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Components };
}

/**
 * An attacker's view of the running system, item by item from the OWASP API Security Top 10
 * (2023). Every test drives the real api process over HTTP.
 */
describe('OWASP API Security Top 10', () => {
  let env: IsolatedEnvironment;
  let api: RunningApp;
  let projector: RunningApp;
  let http: ReturnType<typeof httpClient>;
  let db: pg.Pool;
  let adminToken: string;
  let openapi: OpenApi;
  const seenBodies: unknown[] = [];
  const ADMIN = { email: 'admin@example.com', password: 'staff-passphrase-for-tests' };
  const SHOP = 'https://shop.example.com';

  const expectProblem = (response: HttpResponse, status: number, code?: string): void => {
    expect({ status: response.status, type: response.headers.get('content-type') }).toEqual({
      status,
      type: expect.stringContaining('application/problem+json'),
    });
    if (code) expect(response.body.code).toBe(code);
    expect(JSON.stringify(response.body)).not.toMatch(
      /\bat [\w.<>]+ \(|node_modules|\.ts:\d+|select .* from|insert into/i,
    );
  };

  const customer = async (): Promise<{ id: string; token: string; email: string }> => {
    const email = `c-${randomBytes(5).toString('hex')}@example.com`;
    const password = 'plenty-long-passphrase';
    const registered = await http('POST', '/api/v1/auth/register', { body: { email, password, name: 'Customer' } });
    expect(registered.status).toBe(201);
    const login = await http('POST', '/api/v1/auth/login', { body: { email, password } });
    seenBodies.push(registered.body, login.body);
    return { id: registered.body.id, token: login.body.accessToken, email };
  };

  const sign = (
    claims: Record<string, unknown>,
    options: { alg?: string; secret?: string; exp?: string | null; iss?: string; aud?: string } = {},
  ) => {
    let jwt = new SignJWT({ email: 'x@example.com', roles: ['admin'], ...claims })
      .setProtectedHeader({ alg: options.alg ?? 'HS256' })
      .setSubject(crypto.randomUUID())
      .setIssuedAt()
      .setIssuer(options.iss ?? 'emporium')
      .setAudience(options.aud ?? 'emporium-api');
    if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? '5m');
    return jwt.sign(new TextEncoder().encode(options.secret ?? env.env.JWT_SECRET));
  };

  const fingerprint = async (): Promise<string> => {
    const { rows } =
      await db.query(`select (select count(*) from event_log) as events, (select count(*) from users) as users,
        (select count(*) from products) as products, (select count(*) from orders) as orders`);
    return JSON.stringify(rows[0]);
  };

  beforeAll(async () => {
    await requireServices();
    env = await isolatedEnvironment('security', allEntities);
    db = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
    const appEnv = { ...env.env, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, CORS_ORIGINS: SHOP };
    [api, projector] = await Promise.all([startApp('api', appEnv), startApp('projector', appEnv)]);
    http = httpClient(api.url);
    adminToken = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken;
    openapi = JSON.parse(await readFile(new URL('../../openapi.json', import.meta.url), 'utf8')) as OpenApi;
  });

  afterAll(async () => {
    await api?.stop();
    await projector?.stop();
    await db?.end();
    await env?.dispose();
  });

  describe('API1 broken object level authorization', () => {
    it("answers 404 to another customer on every route that takes an order id, and lists only one's own", async () => {
      const product = await http('POST', '/api/v1/products', {
        token: adminToken,
        body: { sku: 'BOLA-1', name: 'Target', category: 'security', priceCents: 100, currency: 'EUR', stock: 50 },
      });
      const [alice, mallory] = [await customer(), await customer()];
      const order = await http('POST', '/api/v1/orders', {
        token: alice.token,
        body: { lines: [{ productId: product.body.id, quantity: 1 }] },
      });
      const id = order.body.id;
      const wait = { 'x-min-position': order.body.position };
      expectProblem(
        await http('GET', `/api/v1/orders/${id}`, { token: mallory.token, headers: wait }),
        404,
        'order-not-found',
      );
      expectProblem(await http('POST', `/api/v1/orders/${id}/pay`, { token: mallory.token }), 404, 'order-not-found');
      expectProblem(
        await http('POST', `/api/v1/orders/${id}/cancel`, { token: mallory.token }),
        404,
        'order-not-found',
      );
      const theirs = await http('GET', `/api/v1/orders?customerId=${alice.id}`, {
        token: mallory.token,
        headers: wait,
      });
      expect(theirs.body.items).toEqual([]);
      const mine = await http('GET', '/api/v1/orders', { token: alice.token, headers: wait });
      expect(mine.body.items.map((o: { id: string }) => o.id)).toEqual([id]);
      // An unknown id and someone else's id are indistinguishable.
      const unknown = await http('GET', `/api/v1/orders/${crypto.randomUUID()}`, { token: mallory.token });
      expect(unknown.status).toBe(404);
    });
  });

  describe('API2 broken authentication', () => {
    it.each([
      [
        'alg none',
        async () =>
          `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: crypto.randomUUID(), email: 'x@example.com', roles: ['admin'], iss: 'emporium', aud: 'emporium-api', exp: Math.floor(Date.now() / 1000) + 300 })).toString('base64url')}.`,
      ],
      ['a wrong signature', () => sign({}, { secret: randomBytes(32).toString('hex') })],
      ['an unexpected algorithm', () => sign({}, { alg: 'HS512' })],
      ['an expired token', () => sign({}, { exp: '-1m' })],
      ['a token without exp', () => sign({}, { exp: null })],
      ['a wrong issuer', () => sign({}, { iss: 'someone-else' })],
      ['a wrong audience', () => sign({}, { aud: 'another-api' })],
    ])('refuses %s with 401', async (_, token) => {
      const response = await http('GET', '/api/v1/orders', { token: await token() });
      expectProblem(response, 401, 'unauthorized');
    });

    it('accepts a token only in the Authorization header, never in the query string', async () => {
      const valid = (await http('POST', '/api/v1/auth/login', { body: ADMIN })).body.accessToken as string;
      expect((await http('GET', '/api/v1/auth/me', { token: valid })).status).toBe(200);
      for (const name of ['access_token', 'token', 'auth', 'authorization']) {
        expectProblem(await http('GET', `/api/v1/auth/me?${name}=${valid}`), 401);
      }
    });

    it('answers an unknown email exactly like a wrong password', async () => {
      const known = await customer();
      const time = async (body: object): Promise<{ ms: number; response: HttpResponse }> => {
        const start = performance.now();
        const response = await http('POST', '/api/v1/auth/login', { body });
        return { ms: performance.now() - start, response };
      };
      const wrong = await time({ email: known.email, password: 'not-the-right-passphrase' });
      const unknown = await time({
        email: `nobody-${randomBytes(4).toString('hex')}@example.com`,
        password: 'not-the-right-passphrase',
      });
      expectProblem(wrong.response, 401, 'invalid-credentials');
      expect({ ...unknown.response.body, instance: 0 }).toEqual({ ...wrong.response.body, instance: 0 });
    });

    it('refuses weak passwords and stores only scrypt hashes with the configured parameters', async () => {
      for (const password of ['short', 'qwerty123456', 'password1234!', 'aaaaaaaaaaaaaaaa']) {
        const response = await http('POST', '/api/v1/auth/register', {
          body: { email: `w-${randomBytes(4).toString('hex')}@example.com`, password, name: 'Weak' },
        });
        expectProblem(response, 400);
        expect(response.body.detail).toMatch(/password/);
      }
      const { rows } = await db.query<{ password_hash: string }>('select password_hash from users');
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows)
        expect(row.password_hash).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    });

    it('uses an ES256 key pair when configured, refusing an HS256 token forged with the public key', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pem = (key: typeof privateKey, type: 'pkcs8' | 'spki') => key.export({ type, format: 'pem' }).toString();
      const es = await startApp('api', {
        ...env.env,
        JWT_SECRET: '',
        JWT_ALGORITHM: 'ES256',
        JWT_PRIVATE_KEY: pem(privateKey, 'pkcs8'),
        JWT_PUBLIC_KEY: pem(publicKey, 'spki'),
        RELAY_ENABLED: 'false',
      });
      try {
        const client = httpClient(es.url);
        const login = await client('POST', '/api/v1/auth/login', { body: ADMIN });
        expect(JSON.parse(Buffer.from(login.body.accessToken.split('.')[0], 'base64url').toString())).toMatchObject({
          alg: 'ES256',
        });
        expect((await client('GET', '/api/v1/auth/me', { token: login.body.accessToken })).status).toBe(200);
        const forged = await sign({}, { secret: pem(publicKey, 'spki') });
        expectProblem(await client('GET', '/api/v1/auth/me', { token: forged }), 401);
        const hs = await sign({});
        expectProblem(await client('GET', '/api/v1/auth/me', { token: hs }), 401);
      } finally {
        await es.stop();
      }
    });

    it('refuses to start in production without a key, and says so when development uses an ephemeral one', async () => {
      const production = await runToExit('api', { ...env.env, NODE_ENV: 'production', JWT_SECRET: '' });
      expect(production.code).toBe(78);
      expect(production.output).toMatch(/JWT_SECRET: is required when NODE_ENV=production/);
      const development = await startApp('api', {
        ...env.env,
        NODE_ENV: 'development',
        JWT_SECRET: '',
        RELAY_ENABLED: 'false',
        LOG_LEVEL: 'info',
      });
      try {
        expect(development.output()).toMatch(/ephemeral HS256 key/);
      } finally {
        await development.stop();
      }
    });
  });

  describe('API3 broken object property level authorization', () => {
    it.each([
      [
        'roles',
        '/api/v1/auth/register',
        { email: 'p@example.com', password: 'plenty-long-passphrase', name: 'P', roles: ['admin'] },
      ],
      ['status', '/api/v1/orders', { lines: [], status: 'shipped' }],
      ['totalCents', '/api/v1/orders', { lines: [], totalCents: 1 }],
      [
        'unitPriceCents',
        '/api/v1/orders',
        { lines: [{ productId: crypto.randomUUID(), quantity: 1, unitPriceCents: 1 }] },
      ],
    ])('refuses the unknown field %s with a 400 naming it', async (field, path, body) => {
      const token = path === '/api/v1/orders' ? (await customer()).token : undefined;
      const response = await http('POST', path, { token, body });
      expectProblem(response, 400);
      expect(response.body.detail).toContain(field);
    });

    it.each(['__proto__', 'constructor'])('refuses a body carrying %s with a 400 naming it', async (field) => {
      const raw =
        field === '__proto__'
          ? '{"email":"p@example.com","password":"plenty-long-passphrase","name":"P","__proto__":{"roles":["admin"]}}'
          : '{"email":"p@example.com","password":"plenty-long-passphrase","name":"P","constructor":{"prototype":{"roles":["admin"]}}}';
      const response = await http('POST', '/api/v1/auth/register', { rawBody: raw });
      expectProblem(response, 400);
      expect(response.body.detail).toContain(field);
    });

    it('never returns a password hash, salt or internal column', async () => {
      const someone = await customer();
      seenBodies.push((await http('GET', '/api/v1/auth/me', { token: someone.token })).body);
      seenBodies.push((await http('GET', '/api/v1/products')).body);
      seenBodies.push((await http('GET', '/api/v1/orders', { token: adminToken })).body);
      const text = JSON.stringify(seenBodies);
      expect(text).not.toMatch(/password|hash|salt|scrypt|tx_?id|published_?at|metadata/i);
    });
  });

  describe('API4 unrestricted resource consumption', () => {
    it('refuses a body over 1 MB with 413', async () => {
      const big = JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(1024 * 1024), name: 'big' });
      expectProblem(await http('POST', '/api/v1/auth/register', { rawBody: big }), 413);
    });

    it('bounds page sizes, order lines, quantities and string lengths', async () => {
      const { token } = await customer();
      const line = { productId: crypto.randomUUID(), quantity: 1 };
      const cases: Array<[string, Promise<HttpResponse>]> = [
        ['limit', http('GET', '/api/v1/products?limit=101')],
        ['lines', http('POST', '/api/v1/orders', { token, body: { lines: new Array(51).fill(line) } })],
        ['quantity', http('POST', '/api/v1/orders', { token, body: { lines: [{ ...line, quantity: 1001 }] } })],
        ['quantity', http('POST', '/api/v1/orders', { token, body: { lines: [{ ...line, quantity: 0 }] } })],
        [
          'name',
          http('POST', '/api/v1/auth/register', {
            body: { email: 'l@example.com', password: 'plenty-long-passphrase', name: 'n'.repeat(101) },
          }),
        ],
        ['q', http('GET', `/api/v1/products?q=${'q'.repeat(201)}`)],
      ];
      for (const [field, pending] of cases) {
        const response = await pending;
        expectProblem(response, 400);
        expect(response.body.detail).toContain(field);
      }
    });

    it('rate limits login and registration per address and per account, and everything per address, with 429 and Retry-After', async () => {
      const strict = await startApp('api', {
        ...env.env,
        RELAY_ENABLED: 'false',
        RATE_LIMIT_DEFAULT: '40',
        RATE_LIMIT_AUTH_PER_IP: '6',
        RATE_LIMIT_AUTH_PER_ACCOUNT: '3',
      });
      try {
        const client = httpClient(strict.url);
        const guess = (email: string) =>
          client('POST', '/api/v1/auth/login', { body: { email, password: 'guessing-passwords' } });
        const statuses = [];
        // A forged X-Forwarded-For changes nothing: the client address is the socket's (TRUST_PROXY=false).
        for (let i = 0; i < 4; i++) {
          const response = await client('POST', '/api/v1/auth/login', {
            body: { email: 'victim@example.com', password: 'guessing-passwords' },
            headers: { 'x-forwarded-for': `203.0.113.${i}` },
          });
          statuses.push(response.status);
        }
        expect(statuses).toEqual([401, 401, 401, 429]); // per account
        const perAccount = await guess('victim@example.com');
        expectProblem(perAccount, 429, 'rate-limited');
        expect(Number(perAccount.headers.get('retry-after'))).toBeGreaterThan(0);

        // The address has used 5 of its 6 auth requests: other accounts get one more try, then 429.
        expect((await guess('someone@example.com')).status).toBe(401);
        expectProblem(await guess('someone-else@example.com'), 429, 'rate-limited');

        // The default limit is per client across all routes: spread over two routes, it still runs out.
        let last: HttpResponse | undefined;
        for (let i = 0; i < 45 && last?.status !== 429; i++) {
          last = await client('GET', i % 2 ? '/api/v1/products' : `/api/v1/products/${crypto.randomUUID()}`);
        }
        expectProblem(last!, 429, 'rate-limited');
        expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
      } finally {
        await strict.stop();
      }
    });

    it('cuts off a client that never finishes its request', async () => {
      const slow = await startApp('api', { ...env.env, RELAY_ENABLED: 'false', REQUEST_TIMEOUT_MS: '1000' });
      try {
        const { port } = new URL(slow.url);
        const socket = tcpConnect(Number(port), '127.0.0.1');
        let closed = false;
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString()));
        socket.on('close', () => (closed = true));
        socket.on('error', () => undefined);
        socket.write(
          'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"em',
        );
        await poll(async () => closed, Boolean, { timeoutMs: 10_000, what: 'the server to close the slow connection' });
        // Closed without the request ever reaching a handler (Node may or may not send a 408 first).
        expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
      } finally {
        await slow.stop();
      }
    });
  });

  describe('API5 broken function level authorization', () => {
    it('refuses every secured operation without a token, and every admin operation to a customer', async () => {
      const { token } = await customer();
      let secured = 0;
      let adminOnly = 0;
      for (const [template, item] of Object.entries(openapi.paths)) {
        const path = template.replace('{id}', crypto.randomUUID());
        for (const [method, operation] of Object.entries(item)) {
          if (!operation.security?.length) continue;
          secured += 1;
          expectProblem(await http(method.toUpperCase(), path, { body: method === 'get' ? undefined : {} }), 401);
          if (isAdminOnly(operation)) {
            adminOnly += 1;
            expectProblem(
              await http(method.toUpperCase(), path, { token, body: method === 'get' ? undefined : {} }),
              403,
            );
          }
        }
      }
      expect({ secured, adminOnly }).toEqual({ secured: 19, adminOnly: 11 });
    });
  });

  describe('API8 security misconfiguration', () => {
    it('sends security headers and no x-powered-by', async () => {
      for (const path of ['/api/v1/products', '/api/v1/orders', '/api/v1/nope']) {
        const response = await http('GET', path);
        expect(response.headers.get('x-powered-by')).toBeNull();
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
        expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
        expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      }
    });

    it('allows cross-origin calls only from the configured origins, and never a wildcard', async () => {
      const preflight = (origin: string) =>
        fetch(`${api.url}/api/v1/orders`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization',
          },
        });
      const allowed = await preflight(SHOP);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(SHOP);
      expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
      const refused = await preflight('https://evil.example.net');
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
      expect(() => AppConfig.fromEnvironment({ CORS_ORIGINS: '*' })).toThrow(ConfigError);
    });

    it('answers every error as problem+json with no stack trace or SQL, including malformed JSON and ids', async () => {
      expectProblem(await http('POST', '/api/v1/auth/login', { rawBody: '{"email": ' }), 400);
      expectProblem(
        await http('POST', '/api/v1/auth/login', { rawBody: 'email=x', headers: { 'content-type': 'text/plain' } }),
        415,
      );
      expectProblem(await http('GET', '/api/v1/products/1%27%20or%201=1'), 404);
      expectProblem(await http('GET', '/api/v1/no-such-route'), 404);
      expectProblem(await http('DELETE', '/api/v1/products'), 404);
      expectProblem(
        await http(
          'GET',
          `/api/v1/products?cursor=${Buffer.from('{"s":"newest","v":"x","id":"1"}').toString('base64url')}`,
        ),
        400,
      );
    });
  });

  describe('API9 improper inventory management', () => {
    it('serves exactly the committed openapi.json, which passes the OWASP lint', async () => {
      expect((await http('GET', '/docs-json')).body).toEqual(openapi);
      const { stdout } = await run(
        process.execPath,
        [
          'node_modules/@stoplight/spectral-cli/dist/index.js',
          'lint',
          'openapi.json',
          '--ruleset',
          '.spectral.yaml',
          '-f',
          'json',
          '--quiet',
        ],
        { cwd: new URL('../../', import.meta.url).pathname, maxBuffer: 20 * 1024 * 1024 },
      ).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
      const errors = (JSON.parse(stdout || '[]') as Array<{ code: string; severity: number; path: string[] }>).filter(
        (d) => d.severity === 0,
      );
      expect(errors.map((e) => `${e.code} at ${e.path.join('.')}`)).toEqual([]);
    });
  });

  describe('fuzzing from the OpenAPI schemas', () => {
    it('never answers 5xx, always answers its documented schema, and changes nothing on a 4xx', async () => {
      const ajv = new Ajv({ strict: false, allErrors: true });
      // ajv-formats is CommonJS: its default import is the plugin itself.
      const addFormats = formats as unknown as (ajv: Ajv) => Ajv;
      addFormats(ajv);
      for (const [name, schema] of Object.entries(openapi.components.schemas))
        ajv.addSchema(schema, `#/components/schemas/${name}`);
      const { token: customerToken } = await customer();
      const failures: string[] = [];

      for (const [template, item] of Object.entries(openapi.paths)) {
        for (const [method, operation] of Object.entries(item)) {
          // A 200 event stream never ends: its refusals are covered by test/e2e/order-stream.*.
          const ok = operation.responses['200'] as { content?: Record<string, unknown> } | undefined;
          if (ok?.content?.['text/event-stream']) continue;
          const token = isAdminOnly(operation) ? adminToken : operation.security?.length ? customerToken : undefined;
          const query = (operation.parameters ?? []).filter((p) => p.in === 'query');
          const bodySchema = operation.requestBody?.content['application/json'].schema;
          const request = fc.record({
            id: fc.oneof(fc.uuid(), fc.constantFrom('1', 'null', '..%2f', 'x'.repeat(300))),
            hostile: fc.boolean(),
            query: fc.record(
              Object.fromEntries(
                query.map((p) => [
                  p.name,
                  fc.option(validValue(p.schema, openapi.components.schemas), { nil: undefined }),
                ]),
              ),
            ),
            badQuery: fc.option(
              fc.tuple(
                fc.constantFrom(...(query.length ? query.map((p) => p.name) : ['limit'])),
                fc.constantFrom('-1', 'abc', '1e309', 'x'.repeat(600), ''),
              ),
              { nil: undefined },
            ),
            body: bodySchema
              ? fc.oneof(
                  validValue(bodySchema, openapi.components.schemas),
                  hostileValue(bodySchema, openapi.components.schemas),
                )
              : fc.constant(undefined),
          });
          await fc.assert(
            fc.asyncProperty(request, async (r) => {
              const params = new URLSearchParams();
              for (const [k, v] of Object.entries(r.query))
                if (v !== undefined) params.set(k, typeof v === 'string' ? v : JSON.stringify(v));
              if (r.badQuery) params.set(r.badQuery[0], r.badQuery[1]);
              const path = `${template.replace('{id}', encodeURIComponent(r.id))}${params.size ? `?${params.toString()}` : ''}`;
              const before = await fingerprint();
              const response = await http(method.toUpperCase(), path, { token, body: r.body });
              const where = `${method.toUpperCase()} ${path} ${JSON.stringify(r.body)?.slice(0, 200)} -> ${response.status}`;
              if (response.status >= 500) failures.push(`5xx: ${where} ${JSON.stringify(response.body)}`);
              const documented = operation.responses[String(response.status)];
              if (!documented) {
                failures.push(`undocumented status: ${where}`);
                return;
              }
              const content = documented.content && Object.values(documented.content)[0];
              if (content) {
                const schema = resolve(content.schema, openapi.components.schemas);
                const validate = ajv.compile(content.schema.$ref ? { $ref: content.schema.$ref } : schema);
                if (!validate(response.body)) failures.push(`schema: ${where} ${ajv.errorsText(validate.errors)}`);
              }
              if (response.status >= 400 && response.status < 500 && (await fingerprint()) !== before) {
                failures.push(`4xx changed the database: ${where}`);
              }
            }),
            { numRuns: 25, seed: 20261121 },
          );
        }
      }
      expect(failures).toEqual([]);
    });
  });
});
