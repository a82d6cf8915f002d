/* The C names of the original H5FD_sec2j driver, served by the h5tx undo
 * driver, so sec2j users can switch without code changes. Usable from C.
 *
 * Every function returns a negative value on failure and pushes a message
 * (naming the file and what is wrong) on the HDF5 error stack.
 *
 * Differences from the original sec2j:
 *  - H5FD_sec2j_tx_abort exists. After it returns the file holds its
 *    pre-transaction bytes and the driver ignores every later write of the
 *    HDF5 library (its caches are stale): the caller must H5Fclose the file
 *    and open it again before using it.
 *  - Closing a file inside a transaction does not commit it: the transaction
 *    stays open and resumes if the file is reopened read-write in the same
 *    process; if the process ends first, the next open reverts it.
 *  - A file opened read-only with a pending journal shows its pre-transaction
 *    bytes; nothing is modified. A read-write open reverts the journal first.
 *  - Transactions nest: each tx_start needs its tx_end (or tx_abort).
 *  - The journal is synced once before the data file is first overwritten,
 *    not once per write. Journals of the original driver are reverted too.
 *  - The file is locked as HDF5's sec2 driver locks it (flock LOCK_EX for
 *    read-write, LOCK_SH for read-only, honouring HDF5_USE_FILE_LOCKING),
 *    before any journal is read: a second process cannot open (or recover)
 *    a file in a live transaction. Files are identified by device and
 *    inode, so another spelling of an open file joins its transaction.
 *  - A journal records its data file (device, inode, base name) and is
 *    refused for another file.
 */
#ifndef H5TX_SEC2J_H
#define H5TX_SEC2J_H

#include <hdf5.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The C names are the library's public API: exported from libh5tx.so,
 * which hides everything else. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(default)
#endif

#define H5FD_SEC2J (H5FD_sec2j_init())

/* Registers the driver (once) and returns its id; negative on failure. */
hid_t H5FD_sec2j_init(void);
/* Unregisters the driver (files still open keep working until closed). */
void H5FD_sec2j_term(void);
/* Selects the driver; the journal is "<file>.journal". */
herr_t H5Pset_fapl_sec2j(hid_t fapl);
/* Selects the driver with the journal at journal_path (NULL or "": default). */
herr_t H5Pset_fapl_sec2j_journal(hid_t fapl, const char* journal_path);
/* Flushes the file and starts a (possibly nested) transaction. */
herr_t H5FD_sec2j_tx_start(hid_t file);
/* Flushes the file and ends the innermost transaction; the outermost one is
 * durable when this returns. */
herr_t H5FD_sec2j_tx_end(hid_t file);
/* Reverts the innermost transaction; then close and reopen the file. */
herr_t H5FD_sec2j_tx_abort(hid_t file);
/* Reverts the pending journal of a closed file (journal NULL: "<file>.journal").
 * Returns 1 if it reverted something, 0 if there was nothing to revert. */
herr_t H5FD_sec2j_recover(const char* file, const char* journal_or_NULL);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* H5TX_SEC2J_H */
