import { Global, Module } from '@nestjs/common';
import { UnitOfWork } from './unit-of-work.js';

/** The unit of work, for every context's command handlers. */
@Global()
@Module({ providers: [UnitOfWork], exports: [UnitOfWork] })
export class DomainModule {}
