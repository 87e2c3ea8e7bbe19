// The floor under the projector's CPU per order on this machine: what a bare pg client spends per
// statement (the transaction shape a projection batch sends: BEGIN, a select, an insert, COMMIT),
// and what a bare amqplib consumer spends per message it receives and acks. Run by bench/run.mjs
// on the same Node.js as the system under test; prints one JSON line.
import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import pg from 'pg';

const { DATABASE_URL, AMQP_URL } = process.env;
const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// ---- pg: µs of CPU per statement ----
const client = new pg.Client({ connectionString: DATABASE_URL });
await client.connect();
await client.query('create temp table floor_probe (id uuid primary key, v int)');
const TRANSACTIONS = 2000;
for (let i = 0; i < 200; i++) await client.query('select $1::int', [i]); // warm up
let start = cpuMicros();
for (let i = 0; i < TRANSACTIONS; i++) {
  await client.query('begin');
  await client.query('select $1::int as x', [i]);
  await client.query('insert into floor_probe values ($1, $2)', [randomUUID(), i]);
  await client.query('commit');
}
const pgStatementMicros = (cpuMicros() - start) / (TRANSACTIONS * 4);
await client.end();

// ---- amqplib: µs of CPU per message consumed and acked (published by a second connection) ----
const MESSAGES = 5000;
const queue = `bench.floor.${randomUUID()}`;
const publisher = await connect(AMQP_URL);
const out = await publisher.createConfirmChannel();
await out.assertQueue(queue, { durable: false, autoDelete: false });
const body = Buffer.from(JSON.stringify({ id: randomUUID(), payload: { stock: 1 }, metadata: {} }));
for (let i = 0; i < MESSAGES; i++) out.sendToQueue(queue, body, { persistent: true, messageId: String(i) });
await out.waitForConfirms();
const consumer = await connect(AMQP_URL);
const channel = await consumer.createChannel();
await channel.prefetch(64);
let received = 0;
start = cpuMicros();
await new Promise((resolve) => {
  void channel.consume(queue, (message) => {
    if (!message) return; // the queue is deleted at the end
    channel.ack(message);
    if (++received === MESSAGES) resolve();
  });
});
const amqpMessageMicros = (cpuMicros() - start) / MESSAGES;
await channel.deleteQueue(queue);
await consumer.close();
await publisher.close();

console.log(JSON.stringify({ pgStatementMicros: Math.round(pgStatementMicros), amqpMessageMicros: Math.round(amqpMessageMicros) }));
