import { readFileSync } from 'node:fs';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { apiControllers } from './controllers.js';
import { IS_PUBLIC, ROLES } from './auth/auth.decorators.js';

interface Route {
  method: string;
  path: string;
  isPublic: boolean;
  roles: string[];
}

/** Every route Nest registers for the api controllers, with its access rule, read from the code. */
function registeredRoutes(): Route[] {
  return apiControllers.flatMap((controller) => {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as unknown as Record<string, unknown>;
    return Object.getOwnPropertyNames(prototype)
      .filter(
        (name) =>
          name !== 'constructor' && Reflect.getMetadata(METHOD_METADATA, prototype[name] as object) !== undefined,
      )
      .map((name) => {
        const handler = prototype[name] as object;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number].toLowerCase();
        const sub = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
        const path = `/api/v1/${[base, sub].filter((p) => p && p !== '/').join('/')}`.replace(/:(\w+)/g, '{$1}');
        const isPublic =
          Reflect.getMetadata(IS_PUBLIC, handler) === true || Reflect.getMetadata(IS_PUBLIC, controller) === true;
        const roles = (Reflect.getMetadata(ROLES, handler) ?? Reflect.getMetadata(ROLES, controller) ?? []) as string[];
        return { method, path, isPublic, roles };
      });
  });
}

describe('route inventory (OWASP API5, API9)', () => {
  const routes = registeredRoutes();
  const document = JSON.parse(readFileSync(new URL('../../../openapi.json', import.meta.url), 'utf8')) as {
    paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
  };

  it('makes every route either explicitly public or authenticated, and keeps the public list short', () => {
    // Authentication is a global guard: a route is public only through @Public().
    const publicRoutes = routes.filter((r) => r.isPublic).map((r) => `${r.method} ${r.path}`);
    expect(publicRoutes.sort()).toEqual([
      'get /api/v1/categories',
      'get /api/v1/products',
      'get /api/v1/products/{id}',
      'post /api/v1/auth/login',
      'post /api/v1/auth/register',
    ]);
  });

  it('checks the admin role on every admin operation', () => {
    const adminRoutes = routes.filter((r) => r.roles.includes('admin')).map((r) => `${r.method} ${r.path}`);
    expect(adminRoutes.sort()).toEqual([
      'get /api/v1/sales/daily',
      'patch /api/v1/products/{id}',
      'post /api/v1/orders/{id}/ship',
      'post /api/v1/products',
      'post /api/v1/products/{id}/discontinue',
      'post /api/v1/products/{id}/restock',
      'put /api/v1/products/{id}/price',
      'delete /api/v1/webhooks/{id}',
      'get /api/v1/webhooks',
      'get /api/v1/webhooks/{id}/deliveries',
      'post /api/v1/webhooks',
    ].sort());
  });

  it('documents exactly the registered routes in openapi.json, with their security and error responses', () => {
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of routes) {
      const operation = document.paths[route.path][route.method];
      expect({ route: `${route.method} ${route.path}`, secured: (operation.security ?? []).length > 0 }).toEqual({
        route: `${route.method} ${route.path}`,
        secured: !route.isPublic,
      });
      const statuses = Object.keys(operation.responses);
      expect(statuses).toEqual(expect.arrayContaining(['429', '500', ...(route.isPublic ? [] : ['401'])]));
      if (route.roles.includes('admin')) expect(statuses).toContain('403');
    }
  });
});
