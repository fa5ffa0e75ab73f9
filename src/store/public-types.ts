// The store's public types, as `ratewise/store` and `ratewise/redis` both export them: one list, so the two stay
// in step.
export type {
  RatewiseStore,
  StoreClient,
  StoreLease,
  StoreLeaseAsk,
  StoreLimit,
  StorePauseNotice,
  StoreReply,
  StoreRequest,
  StoreRoutes,
  StoreSlots,
  StoreUnit,
  StoreUnitView,
  StoreWatch,
} from './types.js';
