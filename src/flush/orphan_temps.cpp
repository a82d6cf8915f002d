// The _temp directories of dead writer processes (flush/orphan_temps.hpp).
#include "flush/orphan_temps.hpp"

#include <map>
#include <set>
#include <vector>

#include "flush/procs.hpp"
#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"

namespace h5tx {

size_t remove_orphan_temps(Env* env, const std::string& journal_dir, const std::string& procs_dir) {
  // journal/ first: a _temp directory listed here was made after its
  // owner's registration, so if the owner still lives, the registration
  // listed below is there and locked.
  std::map<uint64_t, std::vector<uint64_t>> by_tag;
  for (uint64_t id : journal::list_journal(*env, journal_dir).temp)
    if (procs::tag_of_temp(id) != 0) by_tag[procs::tag_of_temp(id)].push_back(id);
  if (by_tag.empty()) return 0;
  for (const std::string& name : env->list_dir(procs_dir)) {
    uint64_t reg = 0;
    if (!procs::parse_registration_name(name, procs::kSnapPrefix, &reg)) continue;
    auto it = by_tag.find(procs::owner_tag(reg));
    if (it == by_tag.end()) continue;
    try {
      // Free: its owner died (a sweep of registrations removes the file).
      std::unique_ptr<FileLock> probe =
          env->lock_file(path_join(procs_dir, name), LockKind::Exclusive, std::chrono::milliseconds(0));
    } catch (const Error&) {
      by_tag.erase(it);  // held (or cannot tell): a live process's
    }
  }
  size_t removed = 0;
  for (const auto& [tag, ids] : by_tag) {
    (void)tag;
    for (uint64_t id : ids) {
      try {
        env->remove_flat_dir(path_join(journal_dir, journal::tx_dir_name(id, journal::TxState::Temp)));
        removed++;
      } catch (const NotFoundError&) {
        // Removed meanwhile by another process's sweep.
      }
    }
  }
  return removed;
}

}  // namespace h5tx
