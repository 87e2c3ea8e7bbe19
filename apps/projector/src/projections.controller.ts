import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { EventEnvelope } from '@emporium/contracts';
import { ProjectionRunner, type ProjectionSettlement } from '@emporium/messaging';

/**
 * One pattern per projection (= its queue). The runner does inbox, ordering and the transaction;
 * its settlement tells the transport whether to ack, retry or dead-letter.
 */
@Controller()
export class ProjectionsController {
  constructor(private readonly runner: ProjectionRunner) {}

  @EventPattern('catalog')
  catalog(@Payload() event: EventEnvelope): Promise<ProjectionSettlement> {
    return this.runner.settle('catalog', event);
  }

  @EventPattern('orders')
  orders(@Payload() event: EventEnvelope): Promise<ProjectionSettlement> {
    return this.runner.settle('orders', event);
  }

  @EventPattern('sales')
  sales(@Payload() event: EventEnvelope): Promise<ProjectionSettlement> {
    return this.runner.settle('sales', event);
  }
}
