import { Lifecycle } from './lifecycle.js';

describe('Lifecycle', () => {
  it('is starting, then ready once the app listens, then draining from the start of shutdown', async () => {
    const lifecycle = new Lifecycle();
    expect(lifecycle.status).toBe('starting');
    lifecycle.markReady();
    expect(lifecycle.status).toBe('ready');
    await lifecycle.beforeApplicationShutdown();
    expect(lifecycle.status).toBe('draining');
    lifecycle.markReady();
    expect(lifecycle.status).toBe('draining');
  });
});
