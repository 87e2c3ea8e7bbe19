// The system's entities, for tests that migrate or open an ORM of their own.
export { allEntities } from '@emporium/composition';
