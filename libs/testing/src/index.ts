// The system's entities, for tests that migrate or open an ORM of their own.
export { allEntities } from '@emporium/composition';
export { poll } from './poll.js';
export { requireServices, SERVICE_URLS } from './services.js';
export { isolatedEnvironment, type IsolatedEnvironment } from './isolation.js';
export { freePort, startApp, runToExit, type RunningApp } from './processes.js';
export {
  aCustomer,
  actingAs,
  anAdmin,
  anOrder,
  aProduct,
  OrderBuilder,
  ProductBuilder,
  UserBuilder,
} from './builders.js';
export { haproxyVersion, localHaproxyConfig, serversUp, startHaproxy } from './haproxy.js';
export { httpClient, type HttpResponse, type RequestOptions } from './http.js';
export { compareWithRebuild, unappliedEvents, type RebuildReport } from './rebuild.js';
export { TEST_SETTINGS } from './isolation.js';
export {
  parseBanner,
  startAllInOne,
  startSystem,
  type Banner,
  type RunningSystemProcess,
  type SystemMode,
  type SystemUnderTest,
} from './system.js';
export {
  AnswerLog,
  isRetryable,
  OrderLoad,
  recordingClient,
  type AcknowledgedCommand,
  type AnswerMark,
  type OrderLoadOptions,
  type ServerFault,
} from './load.js';
export { deliveriesInFlight, describeExit, isRunning, loggedErrors, postgresCluster, rabbitmqctl } from './faults.js';
export { WebhookReceiver, type Behaviour, type ReceivedWebhook } from './webhook-receiver.js';
export { SseClient, type SseEvent } from './sse.js';
