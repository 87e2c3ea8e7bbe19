import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { EventEnvelope } from '@emporium/contracts';
import { ProjectionRunner, type ApplyOutcome } from '@emporium/messaging';

/** One pattern per projection (= its queue). The runner does inbox, ordering and the transaction. */
@Controller()
export class ProjectionsController {
  constructor(private readonly runner: ProjectionRunner) {}

  @EventPattern('catalog')
  catalog(@Payload() event: EventEnvelope): Promise<ApplyOutcome> {
    return this.runner.handle('catalog', event);
  }

  @EventPattern('orders')
  orders(@Payload() event: EventEnvelope): Promise<ApplyOutcome> {
    return this.runner.handle('orders', event);
  }

  @EventPattern('sales')
  sales(@Payload() event: EventEnvelope): Promise<ApplyOutcome> {
    return this.runner.handle('sales', event);
  }
}
