/** @requires-services PostgreSQL RabbitMQ (see jest.config.js) */
import { describeOrderStreamContract } from './contract/order-stream.contract.js';

/** Live order updates on the distributed deployment: api replicas, projector, RabbitMQ. */
describeOrderStreamContract('distributed');
