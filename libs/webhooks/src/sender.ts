import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, hostOf, resolveChecked } from './address-guard.js';

export interface SendResult {
  /** The HTTP status, if the endpoint answered. */
  status?: number;
  /** Why it did not count as delivered (a status other than 2xx, a timeout, a refused connection). */
  error?: string;
  delivered: boolean;
}

/**
 * One POST of a signed webhook. Redirects are not followed (a 3xx is a failure), the connection
 * goes only to checked addresses, and the whole exchange, response included, has `timeoutMs`.
 * Never rejects.
 */
export async function postWebhook(
  target: string,
  body: string,
  headers: Record<string, string>,
  { timeoutMs, allowPrivateNetworks }: { timeoutMs: number; allowPrivateNetworks: boolean },
): Promise<SendResult> {
  let url: URL;
  try {
    url = new URL(target);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${url.protocol} is not http(s)`);
    // A literal address is never looked up, so it is checked here; names are checked at connect.
    if (isIP(hostOf(url))) await resolveChecked(hostOf(url), allowPrivateNetworks);
  } catch (error) {
    return { delivered: false, error: (error as Error).message };
  }
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: SendResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        agent: false,
        lookup: guardedLookup(allowPrivateNetworks),
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Emporium-Webhooks/1',
        },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        // The body is read (and dropped) so the exchange completes within the timeout.
        response.on('data', () => undefined);
        response.on('end', () =>
          finish(
            status >= 200 && status < 300
              ? { delivered: true, status }
              : { delivered: false, status, error: `the endpoint answered ${status}` },
          ),
        );
        response.on('error', (error) => finish({ delivered: false, status, error: error.message }));
      },
    );
    const timer = setTimeout(() => {
      finish({ delivered: false, error: `no answer within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    request.on('error', (error) => finish({ delivered: false, error: error.message }));
    request.end(body);
  });
}
