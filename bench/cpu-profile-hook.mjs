// Preload for bench/profile.mjs: an IPC message 'profile' starts a CPU profile, the next one
// writes it to $CPU_PROFILE_FILE (not a signal: Nest's shutdown hooks take SIGUSR2). Keeps start-up and seeding out of the profile.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const session = new Session();
session.connect();
let running = false;
process.channel?.unref();
process.on('message', (message) => {
  if (message !== 'profile') return;
  if (!running) {
    running = true;
    session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')));
    return;
  }
  session.post('Profiler.stop', (error, result) => {
    if (!error) writeFileSync(process.env.CPU_PROFILE_FILE, JSON.stringify(result.profile));
    running = false;
  });
});
// 'memory': answers with process.memoryUsage() and V8's heap spaces.
process.on('message', async (message) => {
  if (message !== 'memory') return;
  const { getHeapSpaceStatistics } = await import('node:v8');
  process.send({ memory: process.memoryUsage(), spaces: getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 2 ** 20)]) });
});
// 'heap': writes a heap snapshot next to the CPU profile.
process.on('message', async (message) => {
  if (message !== 'heap') return;
  const { writeHeapSnapshot } = await import('node:v8');
  writeHeapSnapshot(process.env.CPU_PROFILE_FILE.replace('.cpuprofile', '.heapsnapshot'));
  process.send({ heap: 'written' });
});
