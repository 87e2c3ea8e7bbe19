import { CatalogEvents } from '@emporium/contracts';
import { AggregateRoot } from './aggregate-root.js';

/** A minimal aggregate: a counter whose every change is an event. */
class Counter extends AggregateRoot {
  readonly id = crypto.randomUUID();
  streamVersion!: number;
  stock = 0;

  add(quantity: number): void {
    this.stock += quantity;
    this.record(CatalogEvents.Restocked, { quantity, stock: this.stock });
  }

  /** A change of no column but the stream version: it still takes a version of its own. */
  note(): void {
    this.record(CatalogEvents.Discontinued, {});
  }
}

describe('AggregateRoot stream versions', () => {
  it('gives the first event version 1 and each further event the next version', () => {
    const counter = new Counter();
    counter.add(1);
    expect(counter.pullEvents().map((e) => e.aggregateVersion)).toEqual([1]);
    expect(counter.streamVersion).toBe(1);
  });

  it('lets one command record several events, at consecutive versions', () => {
    const counter = new Counter();
    counter.add(1);
    counter.pullEvents();
    counter.add(2);
    counter.note();
    const events = counter.pullEvents();
    expect(events.map((e) => [e.type, e.aggregateVersion])).toEqual([
      [CatalogEvents.Restocked, 2],
      [CatalogEvents.Discontinued, 3],
    ]);
    expect(counter.streamVersion).toBe(3);
  });

  it('continues from a loaded stream version, whatever else the command changes', () => {
    const loaded = Object.assign(Object.create(Counter.prototype) as Counter, { streamVersion: 41 });
    loaded.note();
    loaded.note();
    expect(loaded.pullEvents().map((e) => e.aggregateVersion)).toEqual([42, 43]);
    expect(loaded.pullEvents()).toEqual([]);
  });
});
