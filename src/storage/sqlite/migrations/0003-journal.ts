/**
 * Accepted write transactions go to a journal, a database file of its own (`sqlite-journal.ts`),
 * and `write_transactions` keeps the applied ones with their results. `journal_state` holds how far
 * the journal is applied (`applied_seq`, moved in the database transaction of each apply) and the
 * identity of the journal file that belongs to this store. Queued write transactions of an older
 * store are moved to the journal when it is opened (`SqliteQueue.adoptQueued`); so is what a
 * backup carries (`SqliteStorage.backup`), in the same two tables.
 */
export default /* sql */ `
CREATE TABLE journal_state (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  applied_seq INTEGER NOT NULL,
  journal_id  TEXT
);
INSERT INTO journal_state (id, applied_seq, journal_id) VALUES (1, 0, NULL);
`;
