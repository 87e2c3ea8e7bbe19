import { describeOrderStreamContract } from './contract/order-stream.contract.js';

/** Live order updates on the embedded defaults: PGlite, the in-process feed, one process. */
describeOrderStreamContract('embedded');
