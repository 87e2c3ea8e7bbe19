import { Logger } from '@nestjs/common';

// In-process integration tests: keep Nest's console quiet unless something goes wrong.
Logger.overrideLogger(['error']);
