import { salesWindow } from './daily-sales.handler.js';

describe('salesWindow', () => {
  const now = new Date('2026-12-02T01:30:00Z');

  it('defaults to the last 30 days, today (UTC) included', () => {
    expect(salesWindow({}, now)).toEqual({ from: '2026-11-03', to: '2026-12-02' });
  });

  it('counts the 30 days back from a given end, and keeps given days as they are', () => {
    expect(salesWindow({ to: '2026-03-01' }, now)).toEqual({ from: '2026-01-31', to: '2026-03-01' });
    expect(salesWindow({ from: '2026-11-01' }, now)).toEqual({ from: '2026-11-01', to: '2026-12-02' });
    expect(salesWindow({ from: '2026-01-01', to: '2026-01-02' }, now)).toEqual({
      from: '2026-01-01',
      to: '2026-01-02',
    });
  });
});
