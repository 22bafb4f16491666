/** Master-profile writes applied one by one: the model the service must match (contract §3.4–§3.5). */
export type ModelOp =
  | { kind: 'create' | 'update'; customerId: string; attributes: Record<string, string | null> }
  | { kind: 'delete'; customerId: string };

export function applySequentially(requests: ModelOp[][]): { state: Map<string, Record<string, string>>; codes: string[][] } {
  const state = new Map<string, Record<string, string>>();
  const codes = requests.map((ops) =>
    ops.map((o) => {
      const current = state.get(o.customerId);
      if (o.kind === 'delete') {
        if (!current) return '7203';
        state.delete(o.customerId);
        return '1000';
      }
      if (o.kind === 'create' && current) return '7015';
      if (o.kind === 'update' && !current) return '7014';
      const next = { ...(current ?? {}) };
      for (const [k, v] of Object.entries(o.attributes)) {
        if (v === null) delete next[k];
        else next[k] = v;
      }
      state.set(o.customerId, next);
      return '1000';
    }),
  );
  return { state, codes };
}

/** The method, path and body that send `ops` (all of one kind) as one request. */
export function requestFor(ops: ModelOp[]): { method: string; path: string; body?: unknown } {
  const kind = ops[0].kind;
  if (kind === 'delete') return { method: 'DELETE', path: `/customerprofile?${ops.map((o) => `customerId=${encodeURIComponent(o.customerId)}`).join('&')}` };
  return {
    method: kind === 'create' ? 'POST' : 'PUT',
    path: '/customerprofile',
    body: { Records: ops.map((o) => ({ customerId: o.customerId, Attributes: (o as { attributes: Record<string, string | null> }).attributes })) },
  };
}
