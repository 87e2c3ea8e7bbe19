/**
 * Read models built from the event log: the projection contract, the runner that applies
 * delivered events exactly once and in order (set-based batches), read-your-writes progress and
 * rebuilds, and the keyset cursors that page through read models. Knows nothing of how events
 * are delivered.
 */
export { byAggregate, type Projection, type ProjectionSubscription } from './projection.js';
export { recordset } from './recordset.js';
export { GroupCommit } from './group-commit.js';
export { ProjectionRunner, PROJECTIONS, MAX_APPLY_BATCH, type ApplyOutcome } from './projection-runner.js';
export { ProjectionProgress, type PositionState } from './projection-progress.js';
export { ProjectionRebuild, type RebuildProgress } from './projection-rebuild.js';
export { ProjectionProgressModule, ProjectionRunnerModule } from './projections.module.js';
export { InvalidCursor, KeysetCursor, type CursorFilter, type CursorKey, type CursorPart } from './keyset-cursor.js';
