/**
 * The indexes that find master profiles by an attribute's value (`ProfileScan`), named the same
 * way on both engines: one index per attribute name, over every tenant's rows, keyed by (tenant,
 * value, customerId) so that a find is paged by customerId from the index alone.
 */
import { createHash } from 'node:crypto';

/** Attribute names, as the domain allows them: safe inside SQL literals and quoted identifiers. */
const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** The name itself, checked, for SQL text (index expressions must be literals to match their index). */
export function checkedAttributeName(name: string): string {
  if (!NAME.test(name)) throw new Error(`not an attribute name: ${JSON.stringify(name)}`);
  return name;
}

/** The index of `name`'s values, as a quoted identifier (PostgreSQL keeps 63 bytes: longer names are hashed). */
export function attributeIndexName(name: string): string {
  const plain = `master_attr_${checkedAttributeName(name)}`;
  return `"${plain.length <= 63 ? plain : `master_attr_${createHash('sha256').update(name).digest('hex').slice(0, 32)}`}"`;
}
