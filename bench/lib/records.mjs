// Seed-like request bodies (the vendor's in-app `rt` example), prebuilt so the load generator
// spends its time sending, not building.

const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, '+0000');

/** One rt app-profile record for customer number `c` (one device per customer). */
export function rtRecord(c) {
  return {
    customerId: `cust-${c}`,
    Attributes: {
      verified: '0',
      status: '1',
      connectStatus: '1',
      userId: `user-${c}`,
      channel: 'rt',
      deviceId: `dev-${c}`,
      rtmId: `user-${c}_dev-${c}`,
      make: 'Apple',
      model: 'iPad 3(GSM)',
      os: 'ios',
      osversion: '9.3.1',
      pushId: '37bc5867465cb95124e5e03aad905100f8154cb4f1f5cb8c4a01eae8ee758316',
      createdOn: '2016-07-11 17:02:51',
      last_opened: stamp(),
      last_upgraded: '2016-07-25T16:39:54+0530',
    },
  };
}

/** A master-profile record for customer number `c`. */
export function masterRecord(c) {
  return { customerId: `cust-${c}`, Attributes: { name: `Customer ${c}`, email: `c${c}@example.com`, msisdn: `+4477009${String(c).padStart(5, '0').slice(-5)}` } };
}

/**
 * `count` bodies of `size` records: customers drawn uniformly from [0, space) (hot, cold) or, for
 * `sequentialFrom`, new customers numbered from there on (insert).
 */
export function bodies({ count, size = 100, space, sequentialFrom, record = rtRecord }) {
  let next = sequentialFrom ?? 0;
  return Array.from({ length: count }, () =>
    JSON.stringify({
      Records: Array.from({ length: size }, () => record(sequentialFrom === undefined ? Math.floor(Math.random() * space) : next++)),
    }),
  );
}
