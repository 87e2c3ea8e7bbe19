import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMigration } from './migrate.js';

describe('createMigration', () => {
  it('writes a timestamped migration class and registers it after the existing ones', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'migrations-'));
    const original = await readFile(new URL('./migrations/index.ts', import.meta.url), 'utf8');
    await writeFile(join(directory, 'index.ts'), original);
    const file = await createMigration('add_wishlists', directory);
    const className = /(Migration\d{14}_add_wishlists)\.ts$/.exec(file)?.[1];
    expect(className).toBeDefined();
    expect(await readFile(file, 'utf8')).toContain(`export class ${className} extends Migration`);
    const index = await readFile(join(directory, 'index.ts'), 'utf8');
    expect(index).toContain(`import { ${className} } from './${className}.js';`);
    expect(index.indexOf("{ name: 'Migration20261121000000_init'")).toBeGreaterThan(0);
    expect(index.indexOf("{ name: 'Migration20261121000000_init'")).toBeLessThan(
      index.indexOf(`{ name: '${className}'`),
    );
    await expect(createMigration('Bad Name', directory)).rejects.toThrow(/lower_snake_case/);
  });
});
