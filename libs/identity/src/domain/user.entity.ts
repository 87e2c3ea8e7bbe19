import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { IdentityEvents } from '@emporium/contracts';
import { AggregateRoot } from '@emporium/domain';

export type Role = 'customer' | 'admin';

@Entity({ tableName: 'users' })
export class User extends AggregateRoot {
  @PrimaryKey({ type: 'uuid' })
  readonly id!: string;

  /** Stored lower-cased: the unique index makes one account per address. */
  @Property({ type: 'string', length: 254 })
  readonly email!: string;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'text', hidden: true })
  passwordHash!: string;

  @Property({ type: 'text[]' })
  roles!: Role[];

  @Property({ type: 'datetime' })
  readonly createdAt!: Date;

  /** One per recorded event; the optimistic lock too (see AggregateRoot). */
  @Property({ type: 'integer', concurrencyCheck: true })
  streamVersion!: number;

  constructor(props: { id: string; email: string; name: string; passwordHash: string; roles: Role[] }) {
    super();
    // MikroORM instantiates entities without arguments while it discovers metadata.
    if (props === undefined) return;
    Object.assign(this, { ...props, email: User.normalizeEmail(props.email), createdAt: new Date() });
    this.record(IdentityEvents.UserRegistered, { email: this.email, name: this.name, roles: this.roles });
  }

  static normalizeEmail(email: string): string {
    return email.trim().toLowerCase();
  }
}
