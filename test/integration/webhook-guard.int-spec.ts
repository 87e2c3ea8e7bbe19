import { AppConfig } from '@emporium/config';
import { WebhookReceiver } from '@emporium/testing';
import { postWebhook, RegisterWebhook, RegisterWebhookHandler, WebhookAddressRefused } from '@emporium/webhooks';

/**
 * The SSRF guard on real sockets: by default nothing on loopback is reached, neither at
 * registration nor when connecting (a name is resolved by the guard itself and the socket goes to
 * the checked address), and redirects are not followed.
 */
describe('webhook SSRF guard (real sockets)', () => {
  let receiver: WebhookReceiver;
  const send = (url: string, allowPrivateNetworks: boolean) =>
    postWebhook(url, '{"id":"x"}', { 'webhook-id': 'x' }, { timeoutMs: 2000, allowPrivateNetworks });

  beforeAll(async () => {
    receiver = await new WebhookReceiver(() => 200).start();
  });
  afterAll(() => receiver.stop());

  it('refuses to connect to loopback by default, by address or by name', async () => {
    const port = new URL(receiver.url).port;
    for (const url of [receiver.url, `http://localhost:${port}/hooks`, `http://[::1]:${port}/hooks`]) {
      const result = await send(url, false);
      expect({ url, delivered: result.delivered, error: result.error }).toEqual({
        url,
        delivered: false,
        error: expect.stringMatching(/loopback address/),
      });
    }
    expect(receiver.received).toHaveLength(0);
    await expect(send(receiver.url, true)).resolves.toEqual({ delivered: true, status: 200 });
    expect(receiver.received).toHaveLength(1);
  });

  it('refuses loopback at registration unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true', async () => {
    // Refused before the database is touched: no ORM needed.
    const handler = new RegisterWebhookHandler(undefined as never, AppConfig.fromEnvironment({}));
    await expect(handler.execute(new RegisterWebhook(receiver.url, ['ordering.order.placed']))).rejects.toBeInstanceOf(
      WebhookAddressRefused,
    );
    await expect(
      handler.execute(new RegisterWebhook('http://169.254.169.254/latest/meta-data', ['ordering.order.placed'])),
    ).rejects.toThrow(/metadata address/);
  });

  it('does not follow redirects', async () => {
    const target = await new WebhookReceiver(() => 200).start();
    const redirecting = await new WebhookReceiver(() => 307).start();
    redirecting.location = target.url;
    try {
      const result = await send(redirecting.url, true);
      expect(result).toEqual({ delivered: false, status: 307, error: 'the endpoint answered 307' });
      expect(target.received).toHaveLength(0);
    } finally {
      await Promise.all([target.stop(), redirecting.stop()]);
    }
  });

  it('gives up on an endpoint that does not answer within the timeout', async () => {
    const silent = await new WebhookReceiver(() => 'hang').start();
    try {
      const started = Date.now();
      const result = await postWebhook(silent.url, '{}', {}, { timeoutMs: 300, allowPrivateNetworks: true });
      expect(result).toEqual({ delivered: false, error: 'no answer within 300 ms' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await silent.stop();
    }
  });
});
