import { ChangeSetType, ReferenceKind, type AnyEntity, type EntityProperty } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/** The writes of one command, as statements with `?` placeholders for MikroORM's formatter. */
export interface ChangedRows {
  statements: string[];
  params: unknown[];
  /** Created or updated entities, in the order of their statements. */
  created: AnyEntity[];
  updated: AnyEntity[];
}

/**
 * What the command changed, from the change sets MikroORM computes for its entity manager: one
 * `insert` per new entity, one `update` of the changed columns per changed one, values converted
 * by each property's own MikroORM type. The unit of work sends them together with the event rows
 * and the commit, in one round trip, where a flush would send a statement at a time and wait for
 * each.
 *
 * The updates have no version condition. They do not need one: every changed aggregate records an
 * event, and its stream version (the next one) is unique in `event_log` per aggregate, so of two
 * commands that changed the same version of an aggregate the second fails on that index and runs
 * again on fresh state (docs/adr/0014-stream-versions.md). Aggregates a command changes are
 * usually locked `FOR UPDATE` anyway.
 */
export function changedRows(em: EntityManager): ChangedRows {
  const uow = em.getUnitOfWork();
  uow.computeChangeSets();
  const platform = em.getPlatform();
  const out: ChangedRows = { statements: [], params: [], created: [], updated: [] };
  const value = (prop: EntityProperty, entity: AnyEntity): unknown => {
    const raw = (entity as Record<string, unknown>)[prop.name];
    return raw === null || raw === undefined || !prop.customType
      ? (raw ?? null)
      : prop.customType.convertToDatabaseValue(raw, platform, { mode: 'query' });
  };
  for (const change of uow.getChangeSets()) {
    const { meta, entity } = change;
    // Relations and embeddables would need their own statements: refuse rather than drop them.
    const unsupported = meta.props.find((p) => p.kind !== ReferenceKind.SCALAR && p.persist !== false);
    if (unsupported) {
      throw new Error(
        `the unit of work writes scalar properties only: ${meta.className}.${unsupported.name} is ${unsupported.kind}`,
      );
    }
    const table = quote(meta.tableName);
    if (change.type === ChangeSetType.CREATE) {
      const props = meta.props.filter((p) => p.persist !== false && !p.formula && entity[p.name] !== undefined);
      out.statements.push(
        `insert into ${table} (${props.map((p) => quote(p.fieldNames[0])).join(', ')}) values (${props.map(() => '?').join(', ')})`,
      );
      out.params.push(...props.map((p) => value(p, entity)));
      out.created.push(entity);
    } else if (change.type === ChangeSetType.UPDATE) {
      const props = Object.keys(change.payload).map((name) => meta.properties[name]);
      if (props.length === 0) continue;
      const [pk] = meta.primaryKeys;
      out.statements.push(
        `update ${table} set ${props.map((p) => `${quote(p.fieldNames[0])} = ?`).join(', ')} where ${quote(meta.properties[pk].fieldNames[0])} = ?`,
      );
      out.params.push(...props.map((p) => value(p, entity)), entity[pk]);
      out.updated.push(entity);
    } else {
      throw new Error(`the unit of work does not delete rows (${meta.className})`);
    }
  }
  return out;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
