import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { MikroORM } from '@mikro-orm/postgresql';
import { sql } from 'kysely';
import { catalogProjectionEvents, CreateProduct } from '@emporium/catalog';
import { ProjectionProgress } from '@emporium/projections';
import { RegisterUser } from '@emporium/identity';
import { CommandContext } from '@emporium/domain';

export interface DemoAccounts {
  admin: { email: string; password: string };
  customer: { email: string; password: string };
  products: number;
  /** The event-log position of the last product created: the catalog is visible once it is applied. */
  position: string;
}

const CATALOG: ReadonlyArray<[sku: string, name: string, category: string, priceCents: number, stock: number]> = [
  ['DEMO-MUG-01', 'Enamel camping mug', 'kitchen', 1490, 120],
  ['DEMO-KNF-02', "Chef's knife, 20 cm", 'kitchen', 6900, 35],
  ['DEMO-PAN-03', 'Cast-iron skillet', 'kitchen', 4500, 40],
  ['DEMO-TEA-04', 'Loose-leaf green tea, 250 g', 'grocery', 1250, 200],
  ['DEMO-COF-05', 'Single-origin coffee beans, 1 kg', 'grocery', 2890, 80],
  ['DEMO-OIL-06', 'Cold-pressed olive oil, 1 l', 'grocery', 1790, 60],
  ['DEMO-TSH-07', 'Organic cotton T-shirt', 'apparel', 2400, 150],
  ['DEMO-HOD-08', 'Merino wool hoodie', 'apparel', 8900, 25],
  ['DEMO-SCK-09', 'Hiking socks, 3 pairs', 'apparel', 1900, 90],
  ['DEMO-LMP-10', 'Desk lamp with dimmer', 'home', 5400, 30],
  ['DEMO-BLK-11', 'Wool blanket', 'home', 7900, 20],
  ['DEMO-PLT-12', 'Terracotta plant pot', 'home', 1590, 70],
];

/** Waits until the catalog read model shows the demo catalog (the product list is what a visitor sees first). */
export async function demoCatalogProjected(
  app: INestApplicationContext,
  position: string,
  timeoutMs: number,
): Promise<void> {
  const progress = app.get(ProjectionProgress);
  const deadline = Date.now() + timeoutMs;
  while ((await progress.state('catalog', catalogProjectionEvents, position)) !== 'applied') {
    if (Date.now() > deadline) throw new Error(`the demo catalog was not projected within ${timeoutMs} ms`);
    await delay(20);
  }
}

/**
 * On an empty database: a demo catalog, an admin and a customer, created through the same
 * commands as the API uses (so their events reach the projections). Passwords are generated
 * here and returned once; a database that has any user is left alone.
 */
export async function seedDemoData(app: INestApplicationContext): Promise<DemoAccounts | undefined> {
  const db = app.get(MikroORM).em.fork().getKysely();
  const { rows } = await sql<{ users: number }>`select count(*)::int as users from users`.execute(db);
  if (rows[0].users > 0) return undefined;
  const commands = app.get(CommandBus);
  const system = CommandContext.system('demo-data');
  const admin = { email: 'admin@example.com', password: generatedPassword() };
  const customer = { email: 'customer@example.com', password: generatedPassword() };
  await commands.execute(new RegisterUser(system, admin.email, admin.password, 'Demo Admin', ['admin']));
  await commands.execute(new RegisterUser(system, customer.email, customer.password, 'Demo Customer'));
  let position = '0';
  for (const [sku, name, category, priceCents, stock] of CATALOG) {
    ({ position } = await commands.execute(
      new CreateProduct(system, {
        sku,
        name,
        description: `${name}: part of the demo catalog seeded on first start.`,
        category,
        priceCents,
        currency: 'EUR',
        stock,
      }),
    ));
  }
  return { admin, customer, products: CATALOG.length, position };
}

function generatedPassword(): string {
  return randomBytes(15).toString('base64url');
}
