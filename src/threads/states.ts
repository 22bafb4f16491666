/**
 * A lifecycle as named states and the transitions allowed between them: `to` a state not allowed
 * from the current one throws (a bug, not a condition to handle).
 */
export class States<S extends string> {
  constructor(
    private readonly allowed: Readonly<Record<S, readonly S[]>>,
    private current: S,
  ) {}

  get state(): S {
    return this.current;
  }

  to(next: S): void {
    if (!this.allowed[this.current].includes(next)) throw new Error(`no transition from ${this.current} to ${next}`);
    this.current = next;
  }
}
