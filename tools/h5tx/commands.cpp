// The command table and the helpers every store command shares.
#include "commands.hpp"

#include <set>

#include "h5tx/env.hpp"

namespace h5tx {
namespace cli {

std::vector<Command> all_commands() {
  std::vector<Command> all;
  for (auto list : {store_commands(), ingest_commands(), check_commands(), export_commands(), attr_commands(),
                    history_commands(), backup_commands(), undo_commands(), completion_commands()})
    all.insert(all.end(), list.begin(), list.end());
  return all;
}

OptionSpec lock_timeout_option() {
  return {"lock-timeout", "SECONDS", "wait this long for another process's lock on the store (default 10)"};
}

OptionSpec json_option() {
  return {"json", "", "print one JSON object on stdout instead of text (schema: docs/cli-json.md)"};
}

TempDirKind classify_temp_dir(Env& env, const std::string& dir) {
  TempDirKind k;
  bool only_manifest = true;
  for (const std::string& n : env.list_dir(dir)) {
    const std::string p = path_join(dir, n);
    if (env.is_directory(p)) {
      only_manifest = false;
      continue;
    }
    k.bytes += env.file_size(p);
    if (n != "MANIFEST") only_manifest = false;
  }
  k.spare = only_manifest && k.bytes == 0;
  return k;
}

std::unique_ptr<Store> open_store(const Args& args, bool read_only) {
  Options o;
  o.read_only = read_only;
  o.lock_timeout = args.get_seconds("lock-timeout", 10);
  return Store::open(args.positional.at(0), o);
}

std::vector<std::string> objects_of(const std::vector<std::string>& datasets) {
  std::set<std::string> out;
  for (const std::string& d : datasets) {
    for (size_t pos = d.find('/', 1); pos != std::string::npos; pos = d.find('/', pos + 1))
      out.insert(d.substr(0, pos));
    out.insert(d);
  }
  return {out.begin(), out.end()};
}

}  // namespace cli
}  // namespace h5tx
