import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { HealthChecks } from './health-checks.js';
import { Lifecycle } from './lifecycle.js';

export const PUBLIC_ROUTE = 'emporium:public';

/**
 * For orchestrators: `live` says the process answers (never checks dependencies, so a database
 * outage does not restart every pod); `ready` says it is started and not draining; `/health`
 * is the full report for people and monitors.
 */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly checks: HealthChecks,
    private readonly lifecycle: Lifecycle,
  ) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  ready(): { status: string } {
    const status = this.lifecycle.status;
    if (status !== 'ready') throw new ServiceUnavailableException(`not ready: ${status}`);
    return { status: 'ok' };
  }

  @Get()
  @HealthCheck()
  full(): Promise<HealthCheckResult> {
    return this.health.check(this.checks.all());
  }
}
