import { connect } from 'amqplib';
import pg from 'pg';

export const SERVICE_URLS = {
  postgres: 'postgresql://postgres@127.0.0.1:5432/postgres',
  amqp: 'amqp://127.0.0.1:5672',
  redis: 'redis://127.0.0.1:6379',
};

/**
 * Integration and end-to-end suites need the real PostgreSQL and RabbitMQ. They are required:
 * a missing service fails the suite with a message saying how to start it, it never skips.
 */
export async function requireServices(): Promise<void> {
  const problems: string[] = [];
  const client = new pg.Client({ connectionString: SERVICE_URLS.postgres, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    problems.push(
      `PostgreSQL at 127.0.0.1:5432 is unreachable (${(error as Error).message}); start it with ` +
        '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  try {
    const connection = await connect(SERVICE_URLS.amqp, { timeout: 3000 });
    await connection.close();
  } catch (error) {
    problems.push(
      `RabbitMQ at 127.0.0.1:5672 is unreachable (${(error as Error).message}); start it with \`rabbitmq-server -detached\``,
    );
  }
  if (problems.length) throw new Error(`required services are missing:\n- ${problems.join('\n- ')}`);
}
