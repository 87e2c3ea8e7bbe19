// The api scaled out on one machine: N api processes behind HAProxy, configured by the same
// deploy/haproxy/haproxy.cfg as docker-compose.yml (libs/testing/src/haproxy.ts replaces only the
// server line, the binds and the Docker resolver). Used by bench/run.mjs (BENCH_API_REPLICAS).
import { haproxyVersion, startHaproxy } from '../dist/libs/testing/src/haproxy.js';

export { startHaproxy };

/** HAProxy must be installed: say how, before anything is seeded. */
export function requireHaproxy() {
  const version = haproxyVersion();
  if (version) return version;
  throw new Error(
    'the replica runs (BENCH_API_REPLICAS) need HAProxy on the PATH: on Debian/Ubuntu `apt-get install -y haproxy` ' +
      '(2.6 or newer); BENCH_API_REPLICAS=0 skips them',
  );
}
