// Seed-like records (the vendor's in-app `rt` example: a device reporting `last_opened`) and the
// request bodies that carry them. Bodies are built per request from a template, so every request
// names other customers and carries the current time, at a few microseconds per body.

const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, '+0000');

/** One rt app-profile record for customer number `c` (one device per customer). */
export function rtRecord(c, lastOpened = stamp()) {
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
      last_opened: lastOpened,
      last_upgraded: '2016-07-25T16:39:54+0530',
    },
  };
}

/** A master-profile record for customer number `c`. */
export function masterRecord(c) {
  return { customerId: `cust-${c}`, Attributes: { name: `Customer ${c}`, email: `c${c}@example.com`, msisdn: `+4477009${String(c).padStart(5, '0').slice(-5)}` } };
}

/** `JSON.stringify(rtRecord(c, lastOpened))`, by template (ids are plain ASCII: nothing to escape). */
const rtJson = (c, lastOpened) =>
  `{"customerId":"cust-${c}","Attributes":{"verified":"0","status":"1","connectStatus":"1","userId":"user-${c}","channel":"rt","deviceId":"dev-${c}","rtmId":"user-${c}_dev-${c}","make":"Apple","model":"iPad 3(GSM)","os":"ios","osversion":"9.3.1","pushId":"37bc5867465cb95124e5e03aad905100f8154cb4f1f5cb8c4a01eae8ee758316","createdOn":"2016-07-11 17:02:51","last_opened":"${lastOpened}","last_upgraded":"2016-07-25T16:39:54+0530"}}`;

/**
 * A body maker for a workload: `next()` returns the next request body of `size` rt records.
 * Customers are drawn uniformly from [0, space) (hot, cold), or, with `sequentialFrom`, are new
 * customers numbered from there on (insert).
 */
export function rtBodies({ size = 100, space, sequentialFrom }) {
  let next = sequentialFrom ?? 0;
  return () => {
    const lastOpened = stamp();
    const parts = new Array(size);
    for (let i = 0; i < size; i++) parts[i] = rtJson(sequentialFrom === undefined ? Math.floor(Math.random() * space) : next++, lastOpened);
    return `{"Records":[${parts.join(',')}]}`;
  };
}

/** Bodies of `batch` records covering customers [0, count) once, built with `record`. */
export function loadBodies(count, batch, record) {
  const list = [];
  for (let c = 0; c < count; c += batch) {
    const n = Math.min(batch, count - c);
    list.push(JSON.stringify({ Records: Array.from({ length: n }, (_, i) => record(c + i)) }));
  }
  return list;
}
